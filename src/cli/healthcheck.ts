/**
 * The containers' health checks, usable anywhere. Each loads the config alone, not the app, since it
 * runs every few seconds, and finishes within TIMEOUT_MS, below the HEALTHCHECK --timeout (5 s).
 *
 * `node dist/cli/healthcheck.js` (or `npm run healthcheck`), for `coinpipe serve`: GET /health where
 * the configuration says it listens; exit 0 on a 2xx answer (`ok`, or `degraded`: a source's last
 * run failed), 1 otherwise (503 database down, refused, timeout, bad configuration).
 *
 * `node dist/cli/healthcheck.js worker`, for `coinpipe worker`: exit 0 when a worker of this host
 * (a member `<hostname>:<pid>` of `<QUEUE_PREFIX>:etl:workers`) wrote its heartbeat within the last
 * WORKER_ALIVE_WINDOW_MS, 1 when none did or Redis cannot tell (down, refused, timeout), 2 when the
 * configuration cannot run the check (no REDIS_URL, or invalid). Docker counts any exit but 0 as a
 * failed check.
 */
import { hostname } from 'node:os'
import type { Redis } from 'ioredis'
import { loadConfig, type Config } from '../config.js'
import { errorMessage } from '../errors.js'
import { EXIT } from './exit-codes.js'

// Below the HEALTHCHECK --timeout (5 s), so that a hung server fails here, with a message.
const TIMEOUT_MS = 4000
// A wildcard address listens on loopback too; any other address is reached where it listens.
const WILDCARDS: Readonly<Record<string, string>> = { '0.0.0.0': '127.0.0.1', '::': '[::1]' }
/** Workers write their heartbeat every 15 s: four missed in a row and the worker is dead. */
const WORKER_ALIVE_WINDOW_MS = 60_000

/** A message as one line of the health log (a config error lists each bad variable on a line). */
function oneLine(message: string): string {
  const [first, ...rest] = message.split('\n').map((line) => line.trim().replace(/^- /, ''))
  return [first, rest.join('; ')].filter(Boolean).join(' ')
}

/** The /health URL of a server listening on `host`:`port`. */
function healthUrl(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1')
  const target = WILDCARDS[bare] ?? (bare.includes(':') ? `[${bare}]` : bare)
  return `http://${target}:${port}/health`
}

async function probeServe(): Promise<number> {
  let url: string
  try {
    const { host, port } = loadConfig().http
    url = healthUrl(host, port)
  } catch (error) {
    console.error(`unhealthy: ${oneLine(errorMessage(error))}`)
    return 1
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
    const body = (await response.json().catch(() => ({}))) as { status?: unknown }
    const status = typeof body.status === 'string' ? body.status : 'no status'
    if (!response.ok) {
      console.error(`unhealthy: ${url} answered ${response.status} (${status})`)
      return 1
    }
    console.log(`healthy: ${url} answered ${response.status} (${status})`)
    return 0
  } catch (error) {
    // fetch keeps the reason (ECONNREFUSED, a bad port) in its cause; a timeout is the error itself.
    const cause = (error as { cause?: unknown }).cause
    const code = (cause as { code?: unknown } | undefined)?.code
    const reason = typeof code === 'string' ? code : errorMessage(cause ?? error)
    console.error(`unhealthy: ${url} did not answer: ${reason}`)
    return 1
  }
}

async function probeWorker(): Promise<number> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    console.error(`unhealthy: ${oneLine(errorMessage(error))}`)
    return EXIT.CONFIG
  }
  if (config.redisUrl === undefined) {
    console.error('unhealthy: REDIS_URL is not set; a worker runs only in queue mode')
    return EXIT.CONFIG
  }
  const deadline = Date.now() + TIMEOUT_MS
  // Loaded here, not above: the probe of `serve` runs every 30 s and has no use for ioredis.
  const { createRedis } = await import('../redis/redis-connection.js')
  const { queueKeys } = await import('../queue/queue-keys.js')
  const host = hostname()
  const key = queueKeys(config.queue.prefix).workers
  // Only host and port: the URL may carry a password.
  const where = `Redis at ${new URL(config.redisUrl).host}`
  const redis = createRedis(config.redisUrl, 'producer', `coinpipe-healthcheck:${host}`)
  try {
    await whenReady(redis, deadline - Date.now())
    const since = Date.now() - WORKER_ALIVE_WINDOW_MS
    const alive = await within(
      redis.zrangebyscore(key, since, '+inf', 'WITHSCORES'),
      deadline - Date.now(),
      `no answer within ${TIMEOUT_MS} ms`,
    )
    for (let i = 0; i < alive.length; i += 2) {
      if (!alive[i]!.startsWith(`${host}:`)) continue
      const ageS = Math.max(0, Math.round((Date.now() - Number(alive[i + 1])) / 1000))
      console.log(`healthy: worker ${alive[i]} wrote its heartbeat to ${key} ${ageS} s ago`)
      return 0
    }
    const others = alive.length / 2
    console.error(
      `unhealthy: no worker of host ${host} wrote its heartbeat to ${key} in the last ` +
        `${WORKER_ALIVE_WINDOW_MS / 1000} s (${others} other worker${others === 1 ? '' : 's'} did)`,
    )
    return 1
  } catch (error) {
    const code = (error as { code?: unknown }).code
    console.error(`unhealthy: ${where}: ${typeof code === 'string' ? code : errorMessage(error)}`)
    return 1
  } finally {
    redis.disconnect()
  }
}

/**
 * Resolves once the connection is ready; rejects on its first error (refused, bad password) or
 * after `timeoutMs`. A producer connection does not queue commands, so one sent earlier would fail.
 */
function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer)
      redis.off('ready', onReady).off('error', settle)
      if (error) reject(error)
      else resolve()
    }
    const onReady = () => settle()
    const timer = setTimeout(() => settle(new Error(`no connection within ${TIMEOUT_MS} ms`)), timeoutMs)
    redis.once('ready', onReady).once('error', settle)
  })
}

/** `promise`, or a rejection with `message` once `timeoutMs` has passed. */
async function within<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), Math.max(timeoutMs, 0))
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

async function main(mode: string | undefined): Promise<number> {
  if (mode === undefined) return probeServe()
  if (mode === 'worker') return probeWorker()
  console.error(`usage: healthcheck.js [worker] (not ${mode})`)
  return EXIT.CONFIG
}

const code = await main(process.argv[2])
// Now, not once nothing is left to wait for: closing a connection that never became ready leaves an
// ioredis timer of 2 s behind (its failed ready check disconnects a second time, from a closed socket).
// Writes to a pipe or a file are synchronous on Linux, so nothing printed is lost.
process.exit(code)
