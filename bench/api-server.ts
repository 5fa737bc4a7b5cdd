import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'
import { loadCoinpipe } from './coinpipe-build.js'
import { buildBareApp } from './api-baseline.js'
import { LISTENING_PREFIX } from './api-process.js'

/**
 * Child process of the API benchmark: `api-server.ts coinpipe|bare <database url>` serves on a free
 * port of 127.0.0.1, prints `API_BENCH_LISTENING <port>` on stdout, and exits cleanly on SIGTERM
 * (so that `--cpu-prof` can write its profile).
 */

async function coinpipeApp(url: string): Promise<FastifyInstance> {
  const { buildApp, loadConfig, openDatabase, createLogger, createSourceRegistry } = await loadCoinpipe()
  const config = loadConfig({
    DATABASE_URL: url,
    LOG_LEVEL: 'warn',
    ETL_RUN_ON_START: 'false',
    ETL_SCHEDULE: 'off',
    // One client at full speed: the limiter still runs on every request (its cost is measured),
    // with a ceiling this load never reaches.
    API_RATE_LIMIT: '100000000/1min',
  })
  const db = await openDatabase(config.database)
  const log = createLogger(config.logLevel, { pretty: false, fd: 2 })
  // `--redis`: as a `serve` replica in queue mode counts the API rate limit, in Redis.
  const redis = await queueModeRedis()
  const app = await buildApp(
    {
      ...config,
      queue: { ...config.queue, prefix: process.env.BENCH_API_REDIS_PREFIX ?? config.queue.prefix },
    },
    { db, log, sources: createSourceRegistry(config, log), staleRunAfterMs: config.etl.staleRunAfterMs },
    { redis },
  )
  app.addHook('onClose', () => {
    redis?.disconnect()
    return db.close()
  })
  return app
}

async function queueModeRedis() {
  const url = process.env.BENCH_API_REDIS_URL
  if (!url) return undefined
  const { createRedis } = await import('../src/redis/redis-connection.js')
  const redis = createRedis(url, 'producer', 'coinpipe-bench-api')
  if (redis.status !== 'ready') await once(redis, 'ready')
  return redis
}

async function main(): Promise<void> {
  const [kind, url] = process.argv.slice(2)
  if ((kind !== 'coinpipe' && kind !== 'bare') || url === undefined) {
    throw new Error('usage: api-server.ts coinpipe|bare <database url>')
  }
  const app = kind === 'coinpipe' ? await coinpipeApp(url) : await buildBareApp(url)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (typeof address !== 'object' || address === null) throw new Error('server has no port')
  process.stdout.write(`${LISTENING_PREFIX}${address.port}\n`)
  process.once('SIGTERM', () => {
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error)
        process.exit(1)
      },
    )
  })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
