import { setTimeout as sleep } from 'node:timers/promises'
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { RateLimit } from '../../config.js'

/** Paces the calls to one upstream. */
export interface OutboundLimiter {
  /** Waits until a call may go out; resolves with the milliseconds waited. */
  acquire(signal?: AbortSignal): Promise<number>
}

/**
 * At most `points` calls in any window of `windowMs`, however the windows are laid: calls are
 * spaced `windowMs / points` apart (a fixed window would allow twice the limit across its edge).
 * Any rate-limiter-flexible store fits behind it, so a `RateLimiterRedis` with the same key shares
 * one budget between workers.
 */
export function createOutboundLimiter(
  key: string,
  limit: RateLimit,
  store: RateLimiterAbstract = new RateLimiterMemory({
    keyPrefix: 'coinpipe-upstream',
    points: 1,
    duration: limit.windowMs / limit.points / 1000,
  }),
): OutboundLimiter {
  return {
    async acquire(signal) {
      const started = performance.now()
      for (;;) {
        signal?.throwIfAborted()
        try {
          await store.consume(key)
          return Math.round(performance.now() - started)
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection
          await sleep(Math.max(1, rejection.msBeforeNext), undefined, { signal })
        }
      }
    },
  }
}
