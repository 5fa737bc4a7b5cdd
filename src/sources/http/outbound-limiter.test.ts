import { describe, expect, it } from 'vitest'
import {
  createOutboundLimiter,
  demandHoldMs,
  outboundSpacingMs,
  type OutboundLimiter,
} from './outbound-limiter.js'

/** `count` normal calls in a row, then a mark in `order` for each; resolves when all went out. */
async function normalCalls(limiter: OutboundLimiter, count: number, order: string[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    await limiter.acquire()
    order.push('normal')
  }
}

const GENEROUS = { points: 1000, windowMs: 1000 }

describe('in-process outbound limiter', () => {
  it('spaces calls over the window plus a slack of 5% of it (100 ms at least), so a request held up cannot crowd a window', async () => {
    expect(outboundSpacingMs({ points: 5, windowMs: 500 })).toBe(120)
    expect(outboundSpacingMs({ points: 10, windowMs: 60_000 })).toBe(6300)
    const limiter = createOutboundLimiter('test', { points: 4, windowMs: 400 })
    const at: number[] = []
    for (let i = 0; i < 5; i++) {
      await limiter.acquire()
      at.push(performance.now())
    }

    const gaps = at.slice(1).map((t, i) => t - at[i]!)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(124)
  })

  it('holds the next call back for a pause', async () => {
    const limiter = createOutboundLimiter('test', GENEROUS)
    await limiter.pause(300)

    const waitedMs = await limiter.acquire()

    expect(waitedMs).toBeGreaterThanOrEqual(280)
    expect(waitedMs).toBeLessThan(600)
  })

  it('keeps a longer pause when a shorter one comes after it', async () => {
    const limiter = createOutboundLimiter('test', GENEROUS)
    await limiter.pause(400)
    await limiter.pause(50)

    expect(await limiter.acquire()).toBeGreaterThanOrEqual(380)
  })

  it('lets a call go at once after a pause of zero', async () => {
    const limiter = createOutboundLimiter('test', GENEROUS)
    await limiter.pause(0)

    expect(await limiter.acquire()).toBeLessThan(50)
  })

  it('stops waiting out a pause when the call is cancelled', async () => {
    const limiter = createOutboundLimiter('test', GENEROUS)
    await limiter.pause(10_000)

    await expect(limiter.acquire(AbortSignal.timeout(50))).rejects.toThrow()
  })

  it('lets a background caller (a backfill) go only once no normal caller (a snapshot run) has wanted a slot for a while', async () => {
    const limit = { points: 10, windowMs: 1000 }
    const limiter = createOutboundLimiter('test', limit)
    const order: string[] = []
    const normal = normalCalls(limiter, 5, order)
    const background = limiter.acquire(undefined, 'background').then((waitedMs) => {
      order.push('background')
      return waitedMs
    })
    await normal
    const lastNormalAt = performance.now()
    const waitedMs = await background
    expect(order).toEqual(['normal', 'normal', 'normal', 'normal', 'normal', 'background'])
    // It waited out the normal callers' hold, and not much more.
    expect(performance.now() - lastNormalAt).toBeGreaterThanOrEqual(
      demandHoldMs(limit) - outboundSpacingMs(limit) - 20,
    )
    expect(waitedMs).toBeLessThan(demandHoldMs(limit) + 5 * outboundSpacingMs(limit) + 500)
  })

  it('lets a background caller go at once when no normal caller is about', async () => {
    const limiter = createOutboundLimiter('test', GENEROUS)
    expect(await limiter.acquire(undefined, 'background')).toBeLessThan(50)
  })
})
