import { MARKET_FIELDS, type MarketValues, type NewRecord } from '../../domain/record.js'

/** Column order of the bulk record paths, shared by both dialects. */
export const RECORD_COLUMNS = [
  'asset_id',
  'source',
  'observed_at',
  'price_usd',
  'market_cap_usd',
  'volume_24h_usd',
  'change_24h_pct',
  'rank',
  'circulating_supply',
  'total_supply',
  'max_supply',
  'run_id',
  'raw_batch_id',
  'loaded_at',
  'source_asset_id',
] as const

export const VALUE_COLUMNS = RECORD_COLUMNS.slice(3, 11)
/** The value columns two sightings of one key must agree on (`OBSERVED_FIELDS`: all but rank). */
export const OBSERVED_COLUMNS = VALUE_COLUMNS.filter((column) => column !== 'rank')

/** The `NewRecord` field behind each of `RECORD_COLUMNS`, in the same order. */
export const RECORD_FIELDS = [
  'assetId',
  'source',
  'observedAt',
  ...MARKET_FIELDS,
  'runId',
  'rawBatchId',
  'loadedAt',
  'sourceAssetId',
] as const satisfies readonly (keyof NewRecord)[]

export function recordParams(r: NewRecord): (string | number | null)[] {
  return RECORD_FIELDS.map((field) => r[field])
}

/** Stored market values as both drivers return them (snake_case, numbers or null). */
export interface ExistingValuesRow {
  price_usd: number | null
  market_cap_usd: number | null
  volume_24h_usd: number | null
  change_24h_pct: number | null
  rank: number | null
  circulating_supply: number | null
  total_supply: number | null
  max_supply: number | null
}

export function toMarketValues(row: ExistingValuesRow): MarketValues {
  return {
    priceUsd: row.price_usd,
    marketCapUsd: row.market_cap_usd,
    volume24hUsd: row.volume_24h_usd,
    change24hPct: row.change_24h_pct,
    rank: row.rank,
    circulatingSupply: row.circulating_supply,
    totalSupply: row.total_supply,
    maxSupply: row.max_supply,
  }
}
