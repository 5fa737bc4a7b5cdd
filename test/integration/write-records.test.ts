import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { recordBatchOf, type NewRecord } from '../../src/domain/record.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

/** A record whose every column holds a value of its own, so a column bound in the wrong place shows. */
const aRecord = (over: Partial<NewRecord> = {}): NewRecord => ({
  assetId: 'bitcoin',
  source: 'csv',
  sourceAssetId: 'BTC:bit\tcoin\\x',
  observedAt: '2024-01-02T03:04:05.006Z',
  priceUsd: 42150.25,
  marketCapUsd: 8.1e11,
  volume24hUsd: 3.3e10,
  change24hPct: -1.5,
  rank: 1,
  circulatingSupply: 19_600_000.5,
  totalSupply: 21_000_000.25,
  maxSupply: 21e6,
  runId: 7,
  rawBatchId: 11,
  loadedAt: '2024-01-02T03:05:00.000Z',
  ...over,
})

describe.each(DIALECTS)('Db.writeRecords on %s', (dialect) => {
  let test: TestDatabase
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
    await test.exec(`INSERT INTO assets (id, symbol, name, created_at) VALUES
      ('bitcoin', 'BTC', 'Bitcoin', '2024-01-01T00:00:00.000Z'), ('ether', 'ETH', 'Ether', '2024-01-01T00:00:00.000Z')`)
  })
  afterEach(() => test.destroy())

  const write = (rows: NewRecord[]) =>
    test.db.kysely.transaction().execute((trx) => test.db.writeRecords(trx, recordBatchOf(rows)))

  it('stores every column of every record where it belongs', async () => {
    const records = [
      aRecord(),
      aRecord({ assetId: 'ether', sourceAssetId: null, rank: null, priceUsd: 0.5 }),
      aRecord({ assetId: 'ether', observedAt: '1999-12-31T23:59:59.999Z', priceUsd: 1e-12, volume24hUsd: 0 }),
    ]
    expect(await write(records)).toEqual({ inserted: 3, unchanged: 0, conflicts: [] })
    // All columns: CamelCasePlugin would name `volume24hUsd` volume24h_usd, not the volume_24h_usd it is.
    const stored = await test.db.kysely
      .selectFrom('records')
      .selectAll()
      .orderBy('assetId')
      .orderBy('observedAt', 'desc')
      .execute()
    expect(
      stored.map((r) => {
        const picked = Object.fromEntries(Object.keys(records[0]!).map((k) => [k, r[k as keyof typeof r]]))
        return { ...picked, runId: Number(r.runId), rawBatchId: Number(r.rawBatchId) }
      }),
    ).toEqual(records)
  })

  it('reports stored keys as unchanged or as conflicts with the stored values, by input index', async () => {
    await write([aRecord()])
    const outcome = await write([
      aRecord({ assetId: 'ether' }),
      aRecord(),
      aRecord({ observedAt: '2024-01-03T00:00:00.000Z' }),
    ])
    expect(outcome).toEqual({ inserted: 2, unchanged: 1, conflicts: [] })
    const conflicting = await write([
      aRecord({ priceUsd: 1 }),
      aRecord({ assetId: 'ether', circulatingSupply: null }),
    ])
    expect(conflicting.inserted).toBe(0)
    expect(conflicting.unchanged).toBe(0)
    expect(conflicting.conflicts.map((c) => [c.index, c.existing.priceUsd, c.existing.rank])).toEqual([
      [0, 42150.25, 1],
      [1, 42150.25, 1],
    ])
  })

  it('counts a second sighting that differs only in rank as unchanged, and keeps the stored rank', async () => {
    // An upstream ranks its listing when asked: a coin not updated since still moves in rank.
    await write([aRecord()])
    expect(await write([aRecord({ rank: 2 }), aRecord({ rank: null, priceUsd: 2 })])).toEqual({
      inserted: 0,
      unchanged: 1,
      conflicts: [expect.objectContaining({ index: 1 })],
    })
    const [stored] = await test.db.kysely.selectFrom('records').select('rank').execute()
    expect(stored?.rank).toBe(1)
  })

  it('refuses records of different batches in one write', async () => {
    await expect(write([aRecord(), aRecord({ assetId: 'ether', rawBatchId: 12 })])).rejects.toThrow(
      /must share source, run, raw batch and load time/,
    )
  })
})
