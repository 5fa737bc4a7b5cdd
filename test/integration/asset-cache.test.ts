import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultIdentitySettings } from '../../src/identity/identity-settings.js'
import { assetCacheOf, resolveAssets, type ObservedAsset } from '../../src/identity/resolve-assets.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

const HOUR_MS = 60 * 60 * 1000
const T0 = Date.UTC(2026, 10, 25, 12)
const at = (ms: number) => new Date(T0 + ms).toISOString()

const observed = (priceUsd: number): ObservedAsset[] =>
  ['btc-bitcoin', 'eth-ethereum'].map((id, i) => ({
    asset: { sourceAssetId: id, symbol: i === 0 ? 'BTC' : 'ETH', name: i === 0 ? 'Bitcoin' : 'Ethereum' },
    observedAt: at(0),
    priceUsd,
    rank: i + 1,
  }))

describe.each(DIALECTS)("a source's shared asset cache on %s", (dialect) => {
  let test: TestDatabase
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
  })
  afterEach(() => test.destroy())

  const resolve = (priceUsd: number, nowMs: number) =>
    resolveAssets(
      test.db,
      defaultIdentitySettings(),
      'coinpaprika',
      observed(priceUsd),
      assetCacheOf(test.db, 'coinpaprika'),
      {
        now: at(nowMs),
        trigger: 'test',
      },
    )

  /** The statements a call runs, as their SQL. */
  async function statementsOf(call: () => Promise<unknown>): Promise<string[]> {
    const seen: string[] = []
    const stop = test.db.observeQueries((event) => seen.push(event.query.sql))
    try {
      await call()
    } finally {
      stop()
    }
    return seen
  }

  const evidencePrice = async () =>
    (
      await test.db.kysely
        .selectFrom('sourceAssets')
        .select('priceUsd')
        .where('sourceAssetId', '=', 'btc-bitcoin')
        .executeTakeFirstOrThrow()
    ).priceUsd

  it('resolves known assets of a later run without a query beyond the generation check', async () => {
    await resolve(100, 0)
    const later = await statementsOf(() => resolve(101, 10 * 60 * 1000))
    expect(later).toHaveLength(1)
    expect(later[0]).toMatch(/identity_state/)
    expect(await evidencePrice()).toBe(100)
  })

  it("still refreshes a cached asset's evidence once it is an hour old", async () => {
    await resolve(100, 0)
    await resolve(250, HOUR_MS + 1)
    expect(await evidencePrice()).toBe(250)
  })

  it('starts over when another process moves an alias (the generation changes)', async () => {
    await resolve(100, 0)
    await test.exec('UPDATE identity_state SET generation = generation + 1')
    const after = await statementsOf(() => resolve(100, 60_000))
    expect(after.some((sql) => /asset_aliases/.test(sql))).toBe(true)
  })
})
