import { describe, expect, it } from 'vitest'
import { backoffMs, parseRetryAfter } from './retry-after.js'

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T12:00:00Z')
  it('reads delta-seconds', () => expect(parseRetryAfter('119', now)).toBe(119_000))
  it('reads an HTTP date', () => expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now)).toBe(30_000))
  it('never returns a negative wait for a date in the past', () =>
    expect(parseRetryAfter('Wed, 25 Nov 2026 11:59:00 GMT', now)).toBe(0))
  it.each([undefined, '', 'soon', '-5'])('ignores %j', (value) =>
    expect(parseRetryAfter(value, now)).toBeUndefined(),
  )
})

describe('backoffMs', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    expect([0, 1, 2, 3].map((a) => backoffMs(a, 100, 500, () => 1))).toEqual([100, 200, 400, 500])
    expect(backoffMs(3, 100, 500, () => 0)).toBe(0)
    expect(backoffMs(1, 100, 500, () => 0.5)).toBe(100)
  })
})
