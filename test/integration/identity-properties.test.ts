import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { recordBatchOf, type NewRecord } from '../../src/domain/record.js'
import { defaultIdentitySettings, type IdentitySettings } from '../../src/identity/identity-settings.js'
import { loadEvidence, remapAssets } from '../../src/identity/remap-assets.js'
import { AssetCache, resolveAssets, type ObservedAsset } from '../../src/identity/resolve-assets.js'
import { resolveIdentities, type AssetOverride } from '../../src/identity/resolve-identities.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

const SOURCES = ['coingecko', 'coinpaprika', 'csv'] as const

/** One batch of one source: a few source assets, each observed at a few hours. */
const batchArb = fc.record({
  source: fc.constantFrom(...SOURCES),
  assets: fc.array(
    fc.record({
      id: fc.integer({ min: 0, max: 5 }),
      symbol: fc.constantFrom('AAA', 'BBB', 'CCC'),
      name: fc.constantFrom('Alpha', 'Beta', 'Gamma Token', null),
      price: fc.constantFrom(1, 1.005, 7),
      ranked: fc.boolean(),
      hours: fc.integer({ min: 1, max: 3 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
})

type Batch = typeof batchArb extends fc.Arbitrary<infer T> ? T : never

const scenarioArb = fc.record({
  batches: fc.array(batchArb, { minLength: 1, maxLength: 6 }),
  overrides: fc.array(fc.record({ a: fc.integer({ min: 0, max: 5 }), b: fc.integer({ min: 0, max: 5 }) }), {
    maxLength: 3,
  }),
})

function sourceAssetId(source: string, id: number, symbol: string, name: string | null): string {
  // Catalog ids are stable per id; a CSV row's id is its symbol and name, as the CSV source makes it.
  return source === 'csv'
    ? name
      ? `${symbol}:${name.toLowerCase()}`
      : symbol
    : `${source.slice(0, 2)}-${id}`
}

async function ingest(test: TestDatabase, settings: IdentitySettings, batch: Batch, n: number) {
  const observed: (ObservedAsset & { hour: number })[] = []
  for (const a of batch.assets) {
    // A catalog lists one symbol and name per id: the first one drawn for that id wins in this batch.
    const asset = {
      sourceAssetId: sourceAssetId(batch.source, a.id, a.symbol, a.name),
      symbol: a.symbol,
      name: batch.source === 'csv' ? a.name : (a.name ?? a.symbol),
    }
    for (let h = 0; h < a.hours; h++) {
      observed.push({
        asset,
        hour: h,
        observedAt: new Date(Date.UTC(2026, 10, 25, h)).toISOString(),
        priceUsd: a.price * (1 + h / 1000),
        rank: a.ranked ? 5 : null,
        marketCapUsd: a.ranked ? 1e9 : null,
      })
    }
  }
  const cache = new AssetCache()
  const now = new Date(Date.UTC(2026, 10, 25, 4, n)).toISOString()
  await resolveAssets(test.db, settings, batch.source, observed, cache, { now, trigger: 'test' })
  const byKey = new Map<string, NewRecord>()
  for (const o of observed) {
    const record: NewRecord = {
      assetId: cache.get(o.asset.sourceAssetId)!,
      source: batch.source,
      sourceAssetId: o.asset.sourceAssetId,
      observedAt: o.observedAt!,
      priceUsd: o.priceUsd ?? null,
      marketCapUsd: o.marketCapUsd ?? null,
      volume24hUsd: null,
      change24hPct: null,
      rank: o.rank ?? null,
      circulatingSupply: null,
      totalSupply: null,
      maxSupply: null,
      runId: null,
      rawBatchId: null,
      loadedAt: now,
    }
    byKey.set(`${record.assetId}|${record.observedAt}`, record)
  }
  await test.db.kysely
    .transaction()
    .execute((trx) => test.db.writeRecords(trx, recordBatchOf([...byKey.values()])))
}

async function invariants(test: TestDatabase) {
  const db = test.db.kysely
  const aliases = await db.selectFrom('assetAliases').selectAll().execute()
  const assets = new Set((await db.selectFrom('assets').select('id').execute()).map((a) => a.id))
  const perCatalog = new Set<string>()
  for (const alias of aliases) {
    expect(assets.has(alias.assetId)).toBe(true)
    if (alias.source === 'csv') continue
    const key = `${alias.assetId}:${alias.source}`
    expect(perCatalog.has(key), `two ${alias.source} ids in ${alias.assetId}`).toBe(false)
    perCatalog.add(key)
  }
  const misplaced = await db
    .selectFrom('records as r')
    .innerJoin('assetAliases as a', (j) =>
      j.onRef('a.source', '=', 'r.source').onRef('a.sourceAssetId', '=', 'r.sourceAssetId'),
    )
    .whereRef('a.assetId', '<>', 'r.assetId')
    .select('r.id')
    .execute()
  expect(misplaced).toEqual([])
  return new Map(aliases.map((a) => [`${a.source}\u0000${a.sourceAssetId}`, a.assetId]))
}

async function recordCount(test: TestDatabase): Promise<number> {
  return test.count('records')
}

describe.each(DIALECTS)('identity properties on %s', (dialect) => {
  it('maps every source asset to one asset, and remap never changes the number of records', async () => {
    const base = defaultIdentitySettings()
    const settings: IdentitySettings = { ...base, overrides: [] }
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ batches, overrides }) => {
        const test = await createTestDatabase(dialect)
        try {
          for (const [n, batch] of batches.entries()) await ingest(test, settings, batch, n)
          const mapping = await invariants(test)
          // The stored mapping is exactly what the pure resolver gives for the stored evidence.
          const pure = resolveIdentities(await loadEvidence(test.db.kysely), [], settings.resolve)
          expect(mapping).toEqual(new Map([...pure.assignments].map(([k, a]) => [k, a.assetId])))

          const records = await recordCount(test)
          const reviewed: AssetOverride[] = overrides.map((o) => ({
            why: 'property test',
            members: [
              { source: 'coingecko', sourceAssetId: `co-${o.a}` },
              { source: 'coinpaprika', sourceAssetId: `co-${o.b}` },
            ],
          }))
          const withOverrides = { ...settings, overrides: reviewed }
          const now = new Date().toISOString()
          await remapAssets(test.db, withOverrides, { trigger: 'test', now })
          await invariants(test)
          expect(await recordCount(test)).toBe(records)
          // Applying the same evidence again moves nothing; undoing the overrides loses nothing.
          expect((await remapAssets(test.db, withOverrides, { trigger: 'test', now })).moves).toEqual([])
          await remapAssets(test.db, settings, { trigger: 'test', now })
          expect(await invariants(test)).toEqual(mapping)
          expect(await recordCount(test)).toBe(records)
        } finally {
          await test.destroy()
        }
      }),
      { numRuns: dialect === 'sqlite' ? 40 : 12, seed: 20261126 },
    )
  })
})
