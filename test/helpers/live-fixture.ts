import { identitySettingsFromConfig } from '../../src/identity/identity-settings.js'
import { Writable } from 'node:stream'
import { coinsOf } from '../../fake-upstream/catalogue.js'
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../../fake-upstream/server.js'
import type { EtlRunRow } from '../../src/db/schema.js'
import { createLogger } from '../../src/logger.js'
import type { Metrics } from '../../src/metrics/metrics.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import { createSourceRegistry } from '../../src/sources/registry.js'
import { testConfig } from './pipeline-fixture.js'
import { createTestDatabase, type DialectName, type TestDatabase } from './test-database.js'

/** CoinGecko paging in tests: pages of 25 over the catalogue's coins, so a cycle is three requests. */
export const PER_PAGE = 25
export const COINGECKO_COINS = coinsOf('coingecko').length
export const COINPAPRIKA_COINS = Math.min(coinsOf('coinpaprika').length, 2000)
export const COINGECKO_PAGES = Math.ceil((COINGECKO_COINS + 1) / PER_PAGE)

export interface LiveFixture {
  readonly fake: FakeUpstream
  readonly test: TestDatabase
  readonly ctx: PipelineContext
  /** Every log line written so far, as text. */
  readonly logs: () => string
  run(source: 'coingecko' | 'coinpaprika'): Promise<EtlRunRow>
  /**
   * A second pipeline over the same database and fake, with other settings (a fixed schema, a new
   * key), counting into `metrics` when given.
   */
  withEnv(env: Record<string, string>, metrics?: Metrics): Promise<PipelineContext>
  close(): Promise<void>
}

/** Fast retries and timeouts, generous rate limits: each test sets what it is about. */
const TEST_ENV = {
  SOURCES: 'coingecko,coinpaprika',
  COINGECKO_PER_PAGE: String(PER_PAGE),
  COINGECKO_MAX_PAGES: '10',
  COINGECKO_RATE_LIMIT: '1000/1s',
  COINPAPRIKA_RATE_LIMIT: '1000/1s',
  UPSTREAM_CONNECT_TIMEOUT_MS: '1000',
  UPSTREAM_READ_TIMEOUT_MS: '400',
  UPSTREAM_MAX_RETRIES: '3',
  UPSTREAM_RETRY_BASE_MS: '10',
  UPSTREAM_MAX_RETRY_WAIT_MS: '3000',
  // Contract lookups for identity are off unless a test is about them: fault tests count requests.
  IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
  IDENTITY_COINS_LIST_REFRESH_MS: '0',
}

/** A fresh database, a fake upstream, and a pipeline pointed at it, logging into memory at debug. */
export async function startLive(
  dialect: DialectName,
  env: Record<string, string> = {},
  fakeOptions: FakeUpstreamOptions = {},
): Promise<LiveFixture> {
  const fake = await startFakeUpstream(fakeOptions)
  const test = await createTestDatabase(dialect)
  let text = ''
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  const contexts: PipelineContext[] = []
  const context = async (extra: Record<string, string>, metrics?: Metrics): Promise<PipelineContext> => {
    const config = testConfig({
      DATABASE_URL: test.url,
      COINGECKO_BASE_URL: fake.coingeckoUrl,
      COINPAPRIKA_BASE_URL: fake.coinpaprikaUrl,
      ...TEST_ENV,
      ...env,
      ...extra,
    })
    const log = createLogger('debug', { pretty: false, destination: sink })
    const ctx = {
      db: test.db,
      log,
      sources: createSourceRegistry(config, log, metrics),
      staleRunAfterMs: 600_000,
      metrics,
      identity: await identitySettingsFromConfig(config.identity),
    }
    contexts.push(ctx)
    return ctx
  }
  const ctx = await context({})
  return {
    fake,
    test,
    ctx,
    logs: () => text,
    run: (source) => runSource(ctx, source, { trigger: 'cli' }),
    withEnv: context,
    async close() {
      for (const c of contexts) await c.sources.close()
      await fake.close()
      await test.destroy()
    },
  }
}

/** Records per (asset, observed_at) for a source: any value above 1 is a duplicate. */
export async function duplicateKeys(test: TestDatabase, source: string): Promise<number> {
  const rows = await test.db.kysely
    .selectFrom('records')
    .select(['assetId', 'observedAt'])
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('source', '=', source)
    .groupBy(['assetId', 'observedAt'])
    .having((eb) => eb.fn.countAll(), '>', 1)
    .execute()
  return rows.length
}
