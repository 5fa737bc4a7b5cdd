import { sourceCandles } from '../../src/db/repositories/candle-repository.js'
import { refreshAllCandleHours } from '../../src/db/repositories/candle-hours-repository.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { catalogueTruth, IDENTITY_CSV_TRUTH, pairwiseAccuracy } from '../../fake-upstream/identity-truth.js'
import { remapAssets } from '../../src/identity/remap-assets.js'
import { identitySettingsOf } from '../../src/pipeline/pipeline-context.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import { REPO_ROOT } from '../helpers/cli.js'
import { startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { DIALECTS, type DialectName } from '../helpers/test-database.js'

const IDENTITY_CSV = join(REPO_ROOT, 'test/fixtures/csv/identity-prices.csv')
const SOURCES = ['coingecko', 'coinpaprika', 'csv'] as const
type Source = (typeof SOURCES)[number]

const IDENTITY_ENV = {
  SOURCES: SOURCES.join(','),
  CSV_PATHS: IDENTITY_CSV,
  IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '25',
  IDENTITY_COINS_LIST_REFRESH_MS: '86400000',
}

let live: LiveFixture | undefined
afterEach(async () => {
  await live?.close()
  live = undefined
})

async function start(dialect: DialectName, env: Record<string, string> = {}): Promise<LiveFixture> {
  live = await startLive(dialect, { ...IDENTITY_ENV, ...env })
  return live
}

async function runInOrder(fixture: LiveFixture, order: readonly Source[]): Promise<void> {
  for (const source of order) {
    const run = await runSource(fixture.ctx, source, { trigger: 'cli' })
    expect(run.status, `${source}: ${run.errorMessage}`).toBe('succeeded')
  }
}

/** Everything identity decides, in a form two databases can be compared by. */
async function snapshot(fixture: LiveFixture) {
  const db = fixture.test.db.kysely
  const aliases = await db
    .selectFrom('assetAliases')
    .select(['source', 'sourceAssetId', 'assetId'])
    .orderBy('source')
    .orderBy('sourceAssetId')
    .execute()
  const assets = await db.selectFrom('assets').select(['id', 'symbol', 'name']).orderBy('id').execute()
  const conflicts = await db
    .selectFrom('assetConflicts')
    .select(['source', 'sourceAssetId', 'assetId', 'reason', 'candidates'])
    .orderBy('source')
    .orderBy('sourceAssetId')
    .execute()
  const records = await db
    .selectFrom('records')
    .select(['source', (eb) => eb.fn.countAll<number | string>().as('n')])
    .groupBy('source')
    .orderBy('source')
    .execute()
  const misplaced = await db
    .selectFrom('records as r')
    .innerJoin('assetAliases as a', (j) =>
      j.onRef('a.source', '=', 'r.source').onRef('a.sourceAssetId', '=', 'r.sourceAssetId'),
    )
    .whereRef('a.assetId', '<>', 'r.assetId')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow()
  return {
    mapping: new Map(aliases.map((a) => [`${a.source}:${a.sourceAssetId}`, a.assetId])),
    assets,
    conflicts: conflicts.map((c) => ({ ...c, candidates: JSON.parse(c.candidates) as unknown })),
    records: records.map((r) => [r.source, Number(r.n)]),
    misplacedRecords: Number(misplaced.n),
  }
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  )
}

describe.each(DIALECTS)('asset identity across sources, on %s', (dialect) => {
  // Every order on SQLite; on PostgreSQL the two extremes, to keep the suite quick.
  const orders = dialect === 'sqlite' ? permutations(SOURCES) : [[...SOURCES], [...SOURCES].reverse()]

  it('gives the same assets, aliases, conflicts and records whichever source runs first', async () => {
    let first: Awaited<ReturnType<typeof snapshot>> | undefined
    for (const order of orders) {
      const fixture = await start(dialect)
      await runInOrder(fixture, order)
      const current = await snapshot(fixture)
      expect(current.misplacedRecords, order.join(' → ')).toBe(0)
      if (first === undefined) first = current
      else expect(current, order.join(' → ')).toEqual(first)
      await fixture.close()
      live = undefined
    }
  })

  it('joins the documented cases, keeps the collisions apart, and reports a symbol it cannot place', async () => {
    const fixture = await start(dialect)
    await runInOrder(fixture, SOURCES)
    const { mapping, conflicts } = await snapshot(fixture)
    const of = (key: string) => mapping.get(key)
    // AXL: Axelar and AXL Inu stay apart; each joins its true counterpart.
    expect(of('coinpaprika:axl-axelar')).toBe(of('coingecko:axelar'))
    expect(of('csv:AXL:axelar')).toBe(of('coingecko:axelar'))
    expect(of('csv:AXL:axl inu')).toBe(of('coingecko:axl-inu'))
    expect(of('coingecko:axl-inu')).not.toBe(of('coingecko:axelar'))
    // ONE: Harmony and "1 (one)" stay apart.
    expect(of('coinpaprika:one-harmony')).toBe(of('coingecko:harmony'))
    expect(of('csv:ONE:harmony')).toBe(of('coingecko:harmony'))
    expect(of('csv:ONE:1 (one)')).toBe(of('coingecko:1-one'))
    expect(of('coingecko:1-one')).not.toBe(of('coingecko:harmony'))
    // Different symbols or names for one asset.
    expect(of('coinpaprika:miota-iota')).toBe(of('coingecko:iota'))
    expect(of('csv:MIOTA:iota')).toBe(of('coingecko:iota'))
    expect(of('coinpaprika:bnb-binance-coin')).toBe(of('coingecko:binancecoin'))
    expect(of('csv:BNB:binance coin')).toBe(of('coingecko:binancecoin'))
    expect(of('coinpaprika:leo-leo-token')).toBe(of('coingecko:leo-token'))
    expect(of('csv:LEO:unus sed leo')).toBe(of('coingecko:leo-token'))
    expect(of('coinpaprika:atom-cosmos')).toBe(of('coingecko:cosmos'))
    // CSV rows join the API-sourced assets; a symbol-only row joins its one eligible candidate.
    expect(of('csv:BTC:bitcoin')).toBe(of('coingecko:bitcoin'))
    expect(of('csv:DOGE')).toBe(of('coingecko:dogecoin'))
    // TON has two ranked candidates (Toncoin, Tokamak Network): kept apart and reported.
    const ton = of('csv:TON')!
    expect([of('coingecko:the-open-network'), of('coingecko:tokamak-network')]).not.toContain(ton)
    expect(conflicts).toContainEqual({
      source: 'csv',
      sourceAssetId: 'TON',
      assetId: ton,
      reason: 'AMBIGUOUS_SYMBOL',
      // Sorted by asset id; each names the source asset that carries the symbol.
      candidates: [
        expect.objectContaining({ assetId: of('coingecko:tokamak-network'), symbol: 'TON' }),
        expect.objectContaining({ assetId: of('coingecko:the-open-network'), symbol: 'TON' }),
      ],
    })

    const truth = new Map([...catalogueTruth(), ...IDENTITY_CSV_TRUTH])
    expect(pairwiseAccuracy(mapping, truth)).toMatchObject({ precision: 1, recall: 1 })
  })

  it('spends upstream quota on contracts sparingly: the coins list once a day, each unresolved coin once', async () => {
    const fixture = await start(dialect)
    await runInOrder(fixture, SOURCES)
    await runInOrder(fixture, ['coingecko', 'coinpaprika'])
    expect(fixture.fake.count('coingecko', '/coins/list')).toBe(1)
    const lookups = fixture.fake.requests.filter(
      (r) => r.source === 'coinpaprika' && r.path.startsWith('/coins/'),
    )
    const looked = lookups.map((r) => r.path.slice('/coins/'.length))
    expect(new Set(looked).size).toBe(looked.length)
    // Only candidates a contract could decide: joined on price alone, or unjoined while CoinGecko
    // lists the same symbol. HEX (no CoinGecko coin of that symbol) is not worth a call.
    expect(looked).toContain('usdc-usd-coin')
    expect(looked).toContain('atom-cosmos')
    expect(looked).not.toContain('hex-hex')
    expect(looked).not.toContain('btc-bitcoin')
    expect(looked).not.toContain('bcc-bitconnect')
    // USDC ("USDC" vs "USD Coin") first joined on price; its contract confirmed it.
    const usdc = await fixture.test.db.kysely
      .selectFrom('assetAliases')
      .select(['method', 'confidence'])
      .where('source', '=', 'coinpaprika')
      .where('sourceAssetId', '=', 'usdc-usd-coin')
      .executeTakeFirstOrThrow()
    expect(usdc).toEqual({ method: 'contract', confidence: 0.95 })
  })

  it('remaps without loss when an override is added or taken away, and writes the audit trail', async () => {
    const fixture = await start(dialect)
    await runInOrder(fixture, SOURCES)
    const before = await snapshot(fixture)
    const db = fixture.test.db.kysely
    const kaspaCsv = 'KAS:kaspa network'
    // A CSV of Kaspa under another name: its own asset until a reviewed override says otherwise.
    const csv = join(mkdtempSync(join(tmpdir(), 'coinpipe-kas-')), 'kas.csv')
    writeFileSync(
      csv,
      'date,symbol,name,price_usd\n2025-03-01,KAS,Kaspa Network,0.081\n2025-03-02,KAS,Kaspa Network,0.083\n',
    )
    const imported = await runSource(fixture.ctx, 'csv', { trigger: 'cli', files: [csv] })
    expect(imported.loaded).toBe(2)
    const kasBefore = (await snapshot(fixture)).mapping
    expect(kasBefore.get(`csv:${kaspaCsv}`)).not.toBe(kasBefore.get('coinpaprika:kas-kaspa'))

    const overrides = join(mkdtempSync(join(tmpdir(), 'coinpipe-overrides-')), 'overrides.json')
    writeFileSync(
      overrides,
      JSON.stringify({
        assets: [
          {
            coinpaprika: 'kas-kaspa',
            members: [{ source: 'csv', source_asset_id: kaspaCsv }],
            why: 'our CSV calls Kaspa "Kaspa Network"',
          },
        ],
      }),
    )
    const withOverride = await fixture.withEnv({ IDENTITY_OVERRIDES_PATH: overrides })
    // The candles' rollup is built before the remap: the remap must not leave it behind.
    await refreshAllCandleHours(fixture.ctx.db)
    const csvCandles = (assetId: string) =>
      sourceCandles(fixture.ctx.db, {
        assetId,
        interval: '1d',
        from: '2025-03-01T00:00:00.000Z',
        to: '2025-03-03T00:00:00.000Z',
        source: 'csv',
      }).then((bySource) => (bySource.get('csv') ?? []).map((c) => [c.bucket.slice(0, 10), c.close]))
    const kasCandles = [['2025-03-01', 0.081], ['2025-03-02', 0.083]] // prettier-ignore
    expect(await csvCandles(kasBefore.get(`csv:${kaspaCsv}`)!)).toEqual(kasCandles)
    const dry = await remapAssets(withOverride.db, identitySettingsOf(withOverride), {
      trigger: 'cli',
      now: new Date().toISOString(),
      dryRun: true,
    })
    expect(dry.moves).toHaveLength(1)
    expect((await snapshot(fixture)).mapping).toEqual(kasBefore)

    const merged = await remapAssets(withOverride.db, identitySettingsOf(withOverride), {
      trigger: 'cli',
      now: new Date().toISOString(),
    })
    const kaspa = kasBefore.get('coinpaprika:kas-kaspa')!
    expect(merged.moves).toEqual([
      expect.objectContaining({
        source: 'csv',
        sourceAssetId: kaspaCsv,
        fromAssetId: kasBefore.get(`csv:${kaspaCsv}`),
        toAssetId: kaspa,
        method: 'override',
        recordsMoved: 2,
      }),
    ])
    const afterMerge = await snapshot(fixture)
    expect(afterMerge.mapping.get(`csv:${kaspaCsv}`)).toBe(kaspa)
    // The moved records' candles moved with them, before the rollup caught up and after.
    expect(await csvCandles(kaspa)).toEqual(kasCandles)
    await refreshAllCandleHours(fixture.ctx.db)
    expect(await csvCandles(kaspa)).toEqual(kasCandles)
    expect(afterMerge.misplacedRecords).toBe(0)
    expect(
      await db
        .selectFrom('assets')
        .select('id')
        .where('id', '=', kasBefore.get(`csv:${kaspaCsv}`)!)
        .execute(),
    ).toEqual([])
    const audit = await db
      .selectFrom('assetRemaps')
      .selectAll()
      .where('remapId', '=', merged.remapId)
      .execute()
    expect(audit).toEqual([
      expect.objectContaining({ trigger: 'cli', source: 'csv', toAssetId: kaspa, recordsMoved: 2 }),
    ])

    // Taking the override away splits them again; nothing is lost either way.
    const split = await remapAssets(fixture.ctx.db, identitySettingsOf(fixture.ctx), {
      trigger: 'cli',
      now: new Date().toISOString(),
    })
    expect(split.moves).toEqual([expect.objectContaining({ fromAssetId: kaspa, recordsMoved: 2 })])
    const afterSplit = await snapshot(fixture)
    expect(afterSplit.mapping).toEqual(kasBefore)
    expect(afterSplit.records).toEqual(
      before.records.map(([source, n]) => [source, source === 'csv' ? Number(n) + 2 : n]),
    )
    expect(afterSplit.misplacedRecords).toBe(0)
    await refreshAllCandleHours(fixture.ctx.db)
    expect(await csvCandles(kaspa)).toEqual([])
    expect(await csvCandles(kasBefore.get(`csv:${kaspaCsv}`)!)).toEqual(kasCandles)
    // A remap with nothing new moves nothing.
    const again = await remapAssets(fixture.ctx.db, identitySettingsOf(fixture.ctx), {
      trigger: 'cli',
      now: new Date().toISOString(),
    })
    expect(again.moves).toEqual([])
  })
})
