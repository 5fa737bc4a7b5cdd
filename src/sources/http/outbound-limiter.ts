import { setTimeout as sleep } from 'node:timers/promises'
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { RateLimit } from '../../config.js'

/**
 * Who goes first: the snapshot runs (`normal`) before a backfill (`background`), which only takes
 * a slot while no normal caller has wanted one lately.
 */
export type CallPriority = 'normal' | 'background'

/** Paces the calls to one upstream. */
export interface OutboundLimiter {
  /** Waits until a call may go out; resolves with the milliseconds waited. */
  acquire(signal?: AbortSignal, priority?: CallPriority): Promise<number>
  /**
   * Holds back every caller sharing this limiter for `ms` from now (an upstream's `Retry-After`);
   * a pause already set to end later is kept.
   */
  pause(ms: number): Promise<void>
}

/** Where a limiter keeps its pause: in the process, or where every process sharing it sees it. */
export interface PauseStore {
  /** Milliseconds left of the current pause; 0 when there is none. */
  remainingMs(): Promise<number>
  /** Pauses until `ms` from now, unless the current pause ends later. */
  extend(ms: number): Promise<void>
}

/** Where a limiter notes that normal-priority callers are active, so background callers yield. */
export interface DemandStore {
  /** Notes a normal caller now, for `ms`. */
  mark(ms: number): Promise<void>
  /** True while a normal caller's note lasts. */
  active(): Promise<boolean>
}

/** Demand only this process sees. */
export function createMemoryDemandStore(): DemandStore {
  let until = 0
  return {
    mark(ms) {
      until = Math.max(until, performance.now() + ms)
      return Promise.resolve()
    },
    active: () => Promise.resolve(performance.now() < until),
  }
}

/**
 * How long a normal caller's demand holds background callers back: two slots and 2 s, so the
 * pages of a snapshot run, which come one slot apart plus the time to load each, keep it without
 * a gap, and a backfill resumes within seconds of the run's end.
 */
export function demandHoldMs(limit: RateLimit): number {
  return 2 * outboundSpacingMs(limit) + 2_000
}

/** A pause only this process sees. */
export function createMemoryPauseStore(): PauseStore {
  let pausedUntil = 0
  return {
    remainingMs: () => Promise.resolve(Math.max(0, Math.ceil(pausedUntil - performance.now()))),
    extend(ms) {
      pausedUntil = Math.max(pausedUntil, performance.now() + ms)
      return Promise.resolve()
    },
  }
}

/**
 * The spacing of calls, in-process and shared in Redis alike: a window's `points` slots spread over
 * the window plus a slack of 5% of it, and at least 100 ms. A caller takes its slot before its
 * request leaves (a Redis round trip earlier in queue mode), and its event loop (a batch's
 * synchronous SQLite commit, a transform, a worker loading a source's module) can hold one request
 * up longer than the next: without slack, `points + 1` calls reach the upstream within one window
 * (seen as 429s from three workers at 4/1s, and from the fake upstream at 5/500ms). The slack is 5%
 * of the rate at the upstreams' real per-minute limits (3 s at 30/60s), and a 100 ms floor for the
 * tight limits the tests use.
 */
export function outboundSpacingMs(limit: RateLimit): number {
  const slackMs = Math.max(limit.windowMs * 0.05, 100)
  return Math.max(1, Math.ceil((limit.windowMs + slackMs) / limit.points))
}

/**
 * At most `points` calls in any window of `windowMs`, however the windows are laid: calls are
 * spaced `outboundSpacingMs` apart (a fixed window would allow twice the limit across its edge).
 * Any rate-limiter-flexible store fits behind it, and any pause and demand store, so a
 * `RateLimiterRedis` with the same key and a pause kept in Redis share one budget, one pause and
 * one priority between workers: a `background` caller (a backfill) waits while any `normal` one
 * (a snapshot run) has asked for a slot within `demandHoldMs`.
 */
export function createOutboundLimiter(
  key: string,
  limit: RateLimit,
  store: RateLimiterAbstract = new RateLimiterMemory({
    keyPrefix: 'coinpipe-upstream',
    points: 1,
    duration: outboundSpacingMs(limit) / 1000,
  }),
  pauses: PauseStore = createMemoryPauseStore(),
  demand: DemandStore = createMemoryDemandStore(),
): OutboundLimiter {
  const holdMs = demandHoldMs(limit)
  const yieldMs = outboundSpacingMs(limit)
  return {
    async acquire(signal, priority = 'normal') {
      const started = performance.now()
      for (;;) {
        signal?.throwIfAborted()
        // Noted before waiting for a slot, so a backfill sees a snapshot run that is queuing too.
        if (priority === 'normal') await demand.mark(holdMs)
        else if (await demand.active()) {
          await sleep(yieldMs, undefined, { signal })
          continue
        }
        try {
          await store.consume(key)
        } catch (rejection) {
          if (!(rejection instanceof RateLimiterRes)) throw rejection
          await sleep(Math.max(1, rejection.msBeforeNext), undefined, { signal })
          continue
        }
        // Checked once the slot is taken, so a pause set while this caller waited for its slot
        // still holds it back; it then takes a fresh slot, keeping the spacing after the pause.
        const pausedMs = await pauses.remainingMs()
        if (pausedMs <= 0) return Math.round(performance.now() - started)
        await sleep(pausedMs, undefined, { signal })
      }
    },
    pause: (ms) => (ms > 0 ? pauses.extend(ms) : Promise.resolve()),
  }
}
