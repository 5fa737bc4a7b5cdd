import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstream/server.js'
import type { RateLimit } from '../../src/config.js'
import { SourceHttpError } from '../../src/errors.js'
import { createLogger } from '../../src/logger.js'
import { createRedis } from '../../src/redis/redis-connection.js'
import { createRedisOutboundLimiter, upstreamLimitKeys } from '../../src/redis/redis-outbound-limiter.js'
import { outboundSpacingMs, type OutboundLimiter } from '../../src/sources/http/outbound-limiter.js'
import { createUpstreamClient } from '../../src/sources/http/upstream-client.js'
import { createSourceRegistry } from '../../src/sources/registry.js'
import { testConfig } from '../helpers/pipeline-fixture.js'
import { connectRedis, deleteKeys, isRedisReachable, uniquePrefix } from '../helpers/shared-redis.js'
import { waitFor } from '../helpers/wait-for.js'

const GENEROUS: RateLimit = { points: 1000, windowMs: 1000 }
const HTTP = testConfig({
  UPSTREAM_MAX_RETRIES: '3',
  UPSTREAM_RETRY_BASE_MS: '10',
  UPSTREAM_MAX_RETRY_WAIT_MS: '3000',
}).upstream
const log = createLogger('silent', { pretty: false })

/** The most timestamps (sorted) within any half-open window of `windowMs`. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let most = 0
  let first = 0
  for (let last = 0; last < times.length; last++) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= windowMs) first++
    most = Math.max(most, last - first + 1)
  }
  return most
}

function clientOf(fake: FakeUpstream, limiter: OutboundLimiter) {
  return createUpstreamClient({
    source: 'coingecko',
    baseUrl: fake.coingeckoUrl,
    authHeaders: {},
    http: HTTP,
    limiter,
    log,
  })
}

describe.skipIf(!(await isRedisReachable()))('outbound limits shared through Redis', () => {
  const prefix = uniquePrefix()
  // One connection each, as three worker processes would have.
  const workers: Redis[] = []
  let fake: FakeUpstream | undefined
  const limitersOf = (limit: RateLimit, source = 'coingecko') =>
    workers.map((redis) => createRedisOutboundLimiter(redis, { prefix, source, limit }))

  beforeAll(async () => {
    for (const n of [1, 2, 3]) workers.push(await connectRedis(`coinpipe-test-worker-${n}`))
  })
  afterEach(async () => {
    await fake?.close()
    fake = undefined
    await deleteKeys(workers[0] as Redis, prefix)
  })
  afterAll(async () => {
    if (workers[0]) await deleteKeys(workers[0], prefix)
    for (const redis of workers) redis.disconnect()
  })

  it('never grants more than the limit in any window to three workers together, nor much less', async () => {
    const limit = { points: 10, windowMs: 1000 }
    const granted: number[][] = [[], [], []]
    const until = performance.now() + 2500

    await Promise.all(
      limitersOf(limit).map(async (limiter, n) => {
        while (performance.now() < until) {
          await limiter.acquire()
          granted[n]?.push(performance.now())
        }
      }),
    )

    const all = granted.flat().sort((a, b) => a - b)
    // Grants are timed where they arrive, up to a round trip after Redis made them: 20 ms of slack.
    expect(maxInWindow(all, limit.windowMs - 20)).toBeLessThanOrEqual(limit.points)
    // 2.5 s at 10/s is 25 calls, plus the one at the start.
    expect(all.filter((at) => at <= until).length).toBeGreaterThanOrEqual(21)
    for (const calls of granted) expect(calls.length).toBeGreaterThanOrEqual(2)
  })

  it('keeps a full window within the limit when callers are held up between their slot and their call', async () => {
    // A worker busy parsing a page sends its call late; the next caller's must not land in the
    // same upstream window as a call `points` slots later (the 429s three workers once met at 4/1s).
    const limit = { points: 4, windowMs: 1000 }
    const sent: number[] = []
    const until = performance.now() + 2600
    await Promise.all(
      limitersOf(limit).map(async (limiter, n) => {
        for (let i = 0; performance.now() < until; i++) {
          await limiter.acquire()
          // Every third call of a worker waits 18 ms before it leaves, as a busy event loop would.
          if ((i + n) % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 18))
          sent.push(performance.now())
        }
      }),
    )
    expect(
      maxInWindow(
        sent.sort((a, b) => a - b),
        limit.windowMs,
      ),
    ).toBeLessThanOrEqual(limit.points)
    expect(outboundSpacingMs(limit)).toBe(275)
    expect(outboundSpacingMs({ points: 30, windowMs: 60_000 })).toBe(2100)
  })

  it('keeps each upstream its own budget', async () => {
    const limit = { points: 2, windowMs: 60_000 }
    const [coingecko] = limitersOf(limit, 'coingecko')
    const [coinpaprika] = limitersOf(limit, 'coinpaprika')

    expect(await coingecko?.acquire()).toBeLessThan(100)
    // A shared key would hold this call for the 30 s slot.
    expect(await coinpaprika?.acquire(AbortSignal.timeout(500))).toBeLessThan(100)
  })

  it('holds every worker back for a pause one of them sets', async () => {
    const [first, second] = limitersOf(GENEROUS)
    await first?.pause(600)

    const waitedMs = await second?.acquire()

    expect(waitedMs).toBeGreaterThanOrEqual(550)
    expect(waitedMs).toBeLessThan(1000)
  })

  it('never lets a shorter pause cut a longer one short', async () => {
    const [first, second, third] = limitersOf(GENEROUS)
    await first?.pause(800)
    await second?.pause(100)

    const leftMs = await workers[0]?.pttl(upstreamLimitKeys(prefix, 'coingecko').paused)
    expect(leftMs).toBeGreaterThan(600)
    expect(await third?.acquire()).toBeGreaterThanOrEqual(700)
  })

  it('pauses every worker when an upstream answers 429 with Retry-After', async () => {
    fake = await startFakeUpstream()
    fake.fault({ source: 'coingecko', path: '/coins/markets', kind: 'rate_limit', retryAfter: 1 })
    const [first, second] = limitersOf(GENEROUS)
    const client = clientOf(fake, first as OutboundLimiter)

    const answer = client.getJson('/coins/markets', { vs_currency: 'usd', per_page: '5', page: '1' })
    await waitFor(
      async () => ((await workers[1]?.pttl(upstreamLimitKeys(prefix, 'coingecko').paused)) ?? 0) > 0,
      {
        what: 'the pause in Redis',
      },
    )
    const waitedMs = await second?.acquire()

    expect(waitedMs).toBeGreaterThanOrEqual(800)
    expect((await answer).attempts).toBe(2)
    await client.close()
  })

  it('paces the live sources of a registry with the limiters limiterFor gives', async () => {
    fake = await startFakeUpstream()
    const config = testConfig({
      SOURCES: 'coingecko',
      COINGECKO_BASE_URL: fake.coingeckoUrl,
      COINGECKO_RATE_LIMIT: '1000/1s',
      IDENTITY_COINS_LIST_REFRESH_MS: '0',
    })
    const asked: string[] = []
    const registry = createSourceRegistry(config, log, undefined, {
      limiterFor: (source, limit) => {
        asked.push(`${source} ${limit.points}/${limit.windowMs}ms`)
        return createRedisOutboundLimiter(workers[0] as Redis, { prefix, source, limit })
      },
    })
    const [stream] = await (await registry.get('coingecko')).streams({})
    // Another worker was told to wait.
    await limitersOf(GENEROUS)[1]?.pause(500)
    const started = performance.now()

    const batches = stream?.extract(undefined, { signal: AbortSignal.timeout(5000), log })
    const first = await batches?.[Symbol.asyncIterator]().next()

    expect(first?.done).toBe(false)
    expect(performance.now() - started).toBeGreaterThanOrEqual(450)
    expect(asked).toEqual(['coingecko 1000/1000ms'])
    await registry.close()
  })
  it('gives a snapshot run on one worker the slots before a backfill on another', async () => {
    const limit: RateLimit = { points: 10, windowMs: 1000 }
    const [first, second] = limitersOf(limit, 'priority-test')
    const order: string[] = []
    const normal = (async () => {
      for (let i = 0; i < 5; i++) {
        await first!.acquire()
        order.push('normal')
      }
    })()
    // The first normal call has noted its demand in Redis before the backfill asks.
    await waitFor(
      async () => (await workers[0]!.exists(upstreamLimitKeys(prefix, 'priority-test').demand)) === 1,
      {
        what: 'the demand key',
      },
    )
    const background = second!.acquire(undefined, 'background').then(() => order.push('background'))
    await Promise.all([normal, background])
    expect(order).toEqual(['normal', 'normal', 'normal', 'normal', 'normal', 'background'])
  })
})

describe('outbound limit while Redis is down', () => {
  it('fails the call as retryable and never calls the upstream', async () => {
    const fake = await startFakeUpstream()
    const redis = createRedis('redis://127.0.0.1:1', 'producer', 'coinpipe-test-down')
    const limiter = createRedisOutboundLimiter(redis, {
      prefix: uniquePrefix(),
      source: 'coingecko',
      limit: GENEROUS,
      unavailableWaitMs: 300,
    })
    const client = clientOf(fake, limiter)
    try {
      const failure = await client.getJson('/coins/markets', { vs_currency: 'usd' }).catch((e: unknown) => e)

      expect(failure).toBeInstanceOf(SourceHttpError)
      expect(failure).toMatchObject({ code: 'SOURCE_RATE_LIMITED', retryable: true })
      expect(fake.count()).toBe(0)
    } finally {
      await client.close()
      await fake.close()
      redis.disconnect()
    }
  })
})
