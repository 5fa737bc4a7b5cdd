import type { Db } from '../../src/db/database.js'
import { recordBatchOf, type NewRecord } from '../../src/domain/record.js'

export const at = (hhmm: string, day = '2026-11-25') => `${day}T${hhmm}:00.000Z`

/** [source, time, price, market cap, volume]: hand-made, so every candle of the tests is computed by hand. */
export const CANDLE_FIXTURE: [string, string, number | null, number | null, number | null][] = [
  ['coingecko', at('10:05'), 100, 1000, 50],
  ['coingecko', at('10:20'), 110, 1100, 52],
  ['coingecko', at('10:35'), null, 1050, 51], // no price: not an observation of the price
  ['coingecko', at('10:50'), 90, 900, 40],
  ['coingecko', at('12:10'), 120, 1200, 60], // nothing at 11:00: a gap, not an invented candle
  ['coinpaprika', at('10:10'), 102, null, 55],
  ['coinpaprika', at('10:40'), 104, 1040, 45],
  ['coinpaprika', at('13:00'), 130, 1300, 70], // at `to` of the tests' hourly range: outside
  ['coingecko', at('09:00', '2026-11-23'), 80, 800, 30], // a Monday: its week's first day
]

/** A record of `assetId` with only a price, market cap and volume, loaded at 23:00 of the fixture's day. */
export const marketRecord = (
  assetId: string,
  [source, observedAt, priceUsd, marketCapUsd, volume24hUsd]: (typeof CANDLE_FIXTURE)[number],
): NewRecord => ({
  assetId,
  source,
  sourceAssetId: `${source}:${assetId}`,
  observedAt,
  priceUsd,
  marketCapUsd,
  volume24hUsd,
  change24hPct: null,
  rank: null,
  circulatingSupply: null,
  totalSupply: null,
  maxSupply: null,
  runId: null,
  rawBatchId: null,
  loadedAt: at('23:00'),
})

/** Writes records as the app does (`Db.writeRecords`, one transaction per source), candle marks and all. */
export async function writeMarketRecords(db: Db, records: readonly NewRecord[]): Promise<void> {
  const bySource = new Map<string, NewRecord[]>()
  for (const r of records) bySource.set(r.source, [...(bySource.get(r.source) ?? []), r])
  for (const batch of bySource.values())
    await db.kysely.transaction().execute((trx) => db.writeRecords(trx, recordBatchOf(batch)))
}
