import { withTimeout } from '../with-timeout.js'
import { Redis, type RedisOptions } from 'ioredis'

/**
 * What a connection is for. A worker's blocking connection waits for Redis forever (BullMQ needs
 * that); everything an API request waits on fails at once while Redis is down, so `serve` answers
 * 503 instead of hanging, and reconnects in the background either way.
 */
export type RedisRole = 'worker' | 'producer'

/** Reconnect after 0.2 s, doubling up to 5 s, forever: Redis coming back is noticed within seconds. */
function retryDelay(attempt: number): number {
  return Math.min(200 * 2 ** Math.min(attempt, 5), 5_000)
}

/** An ioredis connection to `url` for `role`, named so `CLIENT LIST` shows who is connected. */
export function createRedis(url: string, role: RedisRole, name: string): Redis {
  const options: RedisOptions = {
    // Redis refuses a name with spaces (and ioredis drops the refusal silently).
    connectionName: name.replace(/\s+/g, '-'),
    retryStrategy: retryDelay,
    // BullMQ's workers need commands that wait for a reconnect rather than fail.
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    // A Redis that answers nothing within 5 s is as good as down for a request.
    connectTimeout: 5_000,
  }
  const redis = new Redis(url, options)
  // Connection errors are reported through health and logs by their owners; unhandled, ioredis
  // would print each reconnect attempt's error to stderr.
  redis.on('error', () => undefined)
  return redis
}

/** Resolves once Redis answers PING within `timeoutMs`; throws otherwise. */
export async function pingRedis(redis: Redis, timeoutMs: number): Promise<void> {
  await withTimeout(redis.ping(), timeoutMs, 'Redis did not answer')
}
