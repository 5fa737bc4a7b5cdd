import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { createRedis } from '../../src/redis/redis-connection.js'

/**
 * The Redis tests use: shared with other users, so a test writes only under its own prefix and
 * deletes only those keys (never FLUSHDB).
 */
export const TEST_REDIS_URL = process.env.COINPIPE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * Whether Redis answers a PING within a second; the Redis tests are skipped when it does not, except
 * in CI, where Redis is required and its absence fails the run.
 */
export async function isRedisReachable(url = TEST_REDIS_URL): Promise<boolean> {
  const reachable = await redisAnswers(url)
  if (!reachable && process.env.CI) throw new Error(`Redis is required in CI but ${url} does not answer`)
  return reachable
}

/** Whether Redis at `url` answers a PING within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  probe.on('error', () => undefined)
  try {
    await probe.connect()
    await probe.ping()
    return true
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/** A key prefix no other test run uses. */
export function uniquePrefix(): string {
  return `coinpipe-test-${randomUUID().slice(0, 8)}`
}

/** A connection as a `serve` or `worker` process opens one, once it is ready for commands. */
export async function connectRedis(name: string, url = TEST_REDIS_URL): Promise<Redis> {
  const redis = createRedis(url, 'producer', name)
  if (redis.status !== 'ready') await once(redis, 'ready')
  return redis
}

/** Deletes every key under `prefix`, and nothing else. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}
