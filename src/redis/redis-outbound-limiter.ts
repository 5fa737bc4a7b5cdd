import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import type { RateLimit } from '../config.js'
import { errorMessage, SourceHttpError } from '../errors.js'
import {
  createOutboundLimiter,
  outboundSpacingMs,
  type DemandStore,
  type OutboundLimiter,
  type PauseStore,
} from '../sources/http/outbound-limiter.js'

/** The Redis keys of one upstream's shared limit. */
export function upstreamLimitKeys(prefix: string, source: string) {
  const base = `${prefix}:upstream:${source}`
  return {
    /** Set for one slot (`windowMs / points`) by the caller that took it. */
    slot: `${base}:slot`,
    /** Exists while the upstream asked every caller to wait; its TTL is the wait left. */
    paused: `${base}:paused`,
    /** Exists while a normal-priority caller (a snapshot run) wants slots: backfills yield. */
    demand: `${base}:demand`,
  }
}

export interface RedisOutboundLimiterOptions {
  /** `config.queue.prefix`: every key is `<prefix>:upstream:<source>:…`. */
  readonly prefix: string
  readonly source: string
  readonly limit: RateLimit
  /**
   * How long `acquire` keeps trying while Redis does not answer (a restart, a failover) before
   * failing the call as `SOURCE_RATE_LIMITED`; default 10 s.
   */
  readonly unavailableWaitMs?: number
}

/**
 * rate-limiter-flexible's increment script with PX in place of EX: the library hands the script
 * `duration` in whole seconds, and a slot is usually shorter than a second (5/1s is 200 ms), so the
 * limiter is given its duration in milliseconds and this script reads it as such.
 */
const INCR_PTTL_SCRIPT = `redis.call('set', KEYS[1], 0, 'PX', ARGV[2], 'NX')
local consumed = redis.call('incrby', KEYS[1], ARGV[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('pexpire', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {consumed, ttl}`

/** Sets the pause for ARGV[1] ms unless the one in place ends later (PTTL is -2 when none is). */
const EXTEND_PAUSE_SCRIPT = `if redis.call('pttl', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[1])
end
return 0`

/**
 * The outbound limit of `source` shared by every process using the same Redis and prefix: one slot
 * of `windowMs / points` at a time for the whole cluster (the same spacing as the in-process
 * limiter, so never more than `points` in any window), and one pause, which only ever moves later.
 *
 * While Redis does not answer, no call goes out: `acquire` retries for `unavailableWaitMs`, then
 * throws a retryable `SourceHttpError` (`SOURCE_RATE_LIMITED`), so the run stops like one that
 * spent its limit and the next run resumes from the checkpoint. Give it a connection that fails
 * commands while Redis is down (`createRedis(url, 'producer', …)`); a 'worker' one queues them,
 * and `acquire` then waits for Redis however long it takes. The connection must not carry a
 * `RateLimiterRedis` with another script: ioredis keeps one `rlflxIncr` command per connection.
 */
export function createRedisOutboundLimiter(
  redis: Redis,
  { prefix, source, limit, unavailableWaitMs = 10_000 }: RedisOutboundLimiterOptions,
): OutboundLimiter {
  const keys = upstreamLimitKeys(prefix, source)
  const store = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: '',
    points: 1,
    // Milliseconds (see INCR_PTTL_SCRIPT), rounded up so the spacing is never shorter than asked.
    duration: outboundSpacingMs(limit),
    customIncrTtlLuaScript: INCR_PTTL_SCRIPT,
  })
  const pauses: PauseStore = {
    async remainingMs() {
      return Math.max(0, await redis.pttl(keys.paused))
    },
    async extend(ms) {
      await redis.eval(EXTEND_PAUSE_SCRIPT, 1, keys.paused, String(Math.ceil(ms)))
    },
  }
  const demand: DemandStore = {
    async mark(ms) {
      await redis.set(keys.demand, '1', 'PX', Math.ceil(ms))
    },
    async active() {
      return (await redis.exists(keys.demand)) === 1
    },
  }
  const paced = createOutboundLimiter(keys.slot, limit, store, pauses, demand)
  const unavailable = (cause: unknown) =>
    new SourceHttpError(
      'SOURCE_RATE_LIMITED',
      `${source}: the shared rate limit in Redis could not be checked, so no call was made (${errorMessage(cause)})`,
      { source },
      cause,
    )

  return {
    async acquire(signal, priority) {
      const started = performance.now()
      for (let failures = 0; ; failures++) {
        try {
          await paced.acquire(signal, priority)
          return Math.round(performance.now() - started)
        } catch (error) {
          if (signal?.aborted) throw error
          if (performance.now() - started >= unavailableWaitMs) throw unavailable(error)
          // About the pace at which createRedis reconnects, so a Redis back within seconds is seen.
          await sleep(Math.min(250 * 2 ** failures, 2_000), undefined, { signal })
        }
      }
    },
    async pause(ms) {
      try {
        await paced.pause(ms)
      } catch (error) {
        throw unavailable(error)
      }
    },
  }
}
