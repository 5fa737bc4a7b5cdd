/**
 * `npm run identity:accuracy`: how well the resolver unifies assets, against the fake upstream's
 * ground truth (its catalogue, synthetic coins and the labelled identity CSV fixture). Runs the three
 * sources into a fresh SQLite file in two orders, with and without the shipped override table, and
 * prints pairwise precision (joined pairs that are truly one coin) and recall (true pairs joined).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { catalogueTruth, IDENTITY_CSV_TRUTH, pairwiseAccuracy } from '../fake-upstream/identity-truth.js'
import { startFakeUpstream } from '../fake-upstream/server.js'
import { loadConfig, PACKAGE_ROOT } from '../src/config.js'
import { migrateToLatest, openDatabase } from '../src/db/database.js'
import { identitySettingsFromConfig } from '../src/identity/identity-settings.js'
import { createLogger } from '../src/logger.js'
import { runSource } from '../src/pipeline/run-pipeline.js'
import { createSourceRegistry } from '../src/sources/registry.js'

const MARKETS = 500
const TICKERS = 2000
const ORDERS = [
  ['coingecko', 'coinpaprika', 'csv'],
  ['csv', 'coinpaprika', 'coingecko'],
] as const

const fake = await startFakeUpstream({ coingeckoMarkets: MARKETS, coinpaprikaTickers: TICKERS })
const work = mkdtempSync(join(tmpdir(), 'coinpipe-accuracy-'))
const truth = new Map([...catalogueTruth(TICKERS), ...IDENTITY_CSV_TRUTH])
const rows: string[][] = []
try {
  for (const overrides of [true, false]) {
    for (const order of ORDERS) {
      const path = join(work, `${overrides}-${order.join('-')}.db`)
      const config = loadConfig({
        DATABASE_URL: `sqlite:${path}`,
        SOURCES: 'coingecko,coinpaprika,csv',
        CSV_PATHS: join(PACKAGE_ROOT, 'test/fixtures/csv/identity-prices.csv'),
        COINGECKO_BASE_URL: fake.coingeckoUrl,
        COINPAPRIKA_BASE_URL: fake.coinpaprikaUrl,
        COINGECKO_PER_PAGE: '250',
        COINGECKO_MAX_PAGES: String(MARKETS / 250),
        COINGECKO_RATE_LIMIT: '1000/1s',
        COINPAPRIKA_RATE_LIMIT: '1000/1s',
        IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '100',
        LOG_LEVEL: 'silent',
      })
      const log = createLogger('silent', { pretty: false })
      const db = await openDatabase(config.database)
      await migrateToLatest(db)
      const identity = await identitySettingsFromConfig(config.identity)
      const ctx = {
        db,
        log,
        sources: createSourceRegistry(config, log),
        staleRunAfterMs: 600_000,
        identity: overrides ? identity : { ...identity, overrides: [] },
      }
      // Two cycles: contract lookups for what one cycle left unresolved land in the next.
      for (const cycle of [1, 2]) {
        for (const source of order) {
          const run = await runSource(ctx, source, { trigger: 'cli' })
          if (run.status !== 'succeeded') throw new Error(`${source}: ${run.status} ${run.errorMessage}`)
          if (cycle === 2 && source === 'csv') continue
        }
      }
      const aliases = await db.kysely.selectFrom('assetAliases').selectAll().execute()
      const found = new Map(aliases.map((a) => [`${a.source}:${a.sourceAssetId}`, a.assetId]))
      const score = pairwiseAccuracy(found, truth)
      const methods = new Map<string, number>()
      for (const a of aliases) methods.set(a.method, (methods.get(a.method) ?? 0) + 1)
      const conflicts = await db.kysely.selectFrom('assetConflicts').select('reason').execute()
      rows.push([
        overrides ? 'shipped' : 'none',
        order.join(' → '),
        String(aliases.length),
        `${score.correctPairs}/${score.foundPairs}`,
        score.precision.toFixed(4),
        `${score.correctPairs}/${score.truePairs}`,
        score.recall.toFixed(4),
        String(conflicts.length),
        [...methods]
          .sort()
          .map(([m, n]) => `${m} ${n}`)
          .join(', '),
      ])
      await ctx.sources.close()
      await db.close()
    }
  }
} finally {
  await fake.close()
  rmSync(work, { recursive: true, force: true })
}

const header = [
  'overrides',
  'order',
  'source ids',
  'joined ok',
  'precision',
  'true joined',
  'recall',
  'conflicts',
  'methods',
]
console.log(
  `Identity accuracy: ${MARKETS} CoinGecko markets, ${TICKERS} CoinPaprika tickers, the identity CSV fixture; two cycles\n`,
)
console.log(`| ${header.join(' | ')} |`)
console.log(`| ${header.map(() => '---').join(' | ')} |`)
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
