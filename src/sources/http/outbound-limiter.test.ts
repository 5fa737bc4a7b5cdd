import { describe, expect, it } from 'vitest'
import { createOutboundLimiter } from './outbound-limiter.js'

const GENEROUS = { points: 1000, windowMs: 1000 }

describe('in-process outbound limiter', () => {
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
})
