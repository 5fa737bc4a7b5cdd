import { describe, expect, it } from 'vitest'
import { bucketStartAtOrAfter, bucketStarts, countBuckets } from './candle-buckets.js'

const ms = (iso: string) => Date.parse(iso)
const iso = (values: number[]) => values.map((v) => new Date(v).toISOString())

describe('candle buckets', () => {
  it('starts weeks on Mondays, UTC', () => {
    // 2026-11-25 is a Wednesday; the next Monday is 2026-11-30.
    expect(bucketStartAtOrAfter('1w', ms('2026-11-25T10:00:00Z'))).toBe(ms('2026-11-30T00:00:00Z'))
    expect(bucketStartAtOrAfter('1w', ms('2026-11-23T00:00:00Z'))).toBe(ms('2026-11-23T00:00:00Z'))
  })

  it('lists and counts the buckets that start in [from, to)', () => {
    const from = ms('2026-11-25T10:01:00Z')
    const to = ms('2026-11-25T10:20:00Z')
    expect(iso(bucketStarts('5m', from, to))).toEqual([
      '2026-11-25T10:05:00.000Z',
      '2026-11-25T10:10:00.000Z',
      '2026-11-25T10:15:00.000Z',
    ])
    expect(countBuckets('5m', from, to)).toBe(3)
    expect(countBuckets('5m', from, to + 1)).toBe(4)
    expect(countBuckets('1d', from, to)).toBe(0)
    expect(countBuckets('1h', ms('2025-01-01T00:00:00Z'), ms('2026-01-01T00:00:00Z'))).toBe(8_760)
  })
})
