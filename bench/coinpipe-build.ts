import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const DIST = fileURLToPath(new URL('../dist/', import.meta.url))

/**
 * coinpipe as it runs in production: the compiled `dist/` (what `npm start` runs), not the sources
 * through tsx, whose on-the-fly transform adds wrappers to every closure. `BENCH_FROM_SRC=1` measures
 * the sources instead.
 */
export async function loadCoinpipe() {
  const base = process.env.BENCH_FROM_SRC === '1' ? '../src/' : DIST
  if (base === DIST && !existsSync(`${DIST}main.js`))
    throw new Error('dist/ is missing: run `npm run build` first')
  const load = <T>(path: string) => import(base === DIST ? `${DIST}${path}` : `${base}${path}`) as Promise<T>
  const [config, database, logger, registry, pipeline, identity] = await Promise.all([
    load<typeof import('../src/config.js')>('config.js'),
    load<typeof import('../src/db/database.js')>('db/database.js'),
    load<typeof import('../src/logger.js')>('logger.js'),
    load<typeof import('../src/sources/registry.js')>('sources/registry.js'),
    load<typeof import('../src/pipeline/run-pipeline.js')>('pipeline/run-pipeline.js'),
    load<typeof import('../src/identity/identity-settings.js')>('identity/identity-settings.js'),
  ])
  return {
    loadConfig: config.loadConfig,
    openDatabase: database.openDatabase,
    createLogger: logger.createLogger,
    createSourceRegistry: registry.createSourceRegistry,
    runSource: pipeline.runSource,
    identitySettingsFromConfig: identity.identitySettingsFromConfig,
    /** The HTTP app, loaded only when asked for: the ingest benchmark should not carry Fastify's memory. */
    buildApp: async (...args: Parameters<typeof import('../src/api/build-app.js').buildApp>) => {
      const api = await load<typeof import('../src/api/build-app.js')>('api/build-app.js')
      return api.buildApp(...args)
    },
    /** Queue mode's producer, loaded only when asked for, like the app: BullMQ and ioredis come with it. */
    openEtlQueue: async (...args: Parameters<typeof import('../src/queue/etl-queue.js').EtlQueue.open>) => {
      const queue = await load<typeof import('../src/queue/etl-queue.js')>('queue/etl-queue.js')
      return queue.EtlQueue.open(...args)
    },
  }
}
