/** Market values of one observation; a value the source does not know is null, never 0. */
export interface MarketValues {
  readonly priceUsd: number | null
  readonly marketCapUsd: number | null
  readonly volume24hUsd: number | null
  readonly change24hPct: number | null
  readonly rank: number | null
  readonly circulatingSupply: number | null
  readonly totalSupply: number | null
  readonly maxSupply: number | null
}

export const MARKET_FIELDS = [
  'priceUsd',
  'marketCapUsd',
  'volume24hUsd',
  'change24hPct',
  'rank',
  'circulatingSupply',
  'totalSupply',
  'maxSupply',
] as const satisfies readonly (keyof MarketValues)[]

/** One observation of one asset by one source, keyed by (assetId, source, observedAt). */
export interface MarketRecord extends MarketValues {
  readonly assetId: string
  readonly source: string
  /** The source's own clock (its `last_updated`, the CSV row's date), ISO 8601 UTC. */
  readonly observedAt: string
}

/** A record as written: with its provenance and our clock. */
export interface NewRecord extends MarketRecord {
  /** The source's own id for the asset, so a remap moves exactly this source asset's records. */
  readonly sourceAssetId: string | null
  readonly runId: number | null
  readonly rawBatchId: number | null
  readonly loadedAt: string
}

export function sameMarketValues(a: MarketValues, b: MarketValues): boolean {
  return MARKET_FIELDS.every((field) => a[field] === b[field])
}

export function recordKey(record: Pick<MarketRecord, 'assetId' | 'source' | 'observedAt'>): string {
  return `${record.assetId}\u0000${record.source}\u0000${record.observedAt}`
}

/** The fields that differ, for a conflict message a person can act on. */
export function describeDifference(kept: MarketValues, other: MarketValues): string {
  return MARKET_FIELDS.filter((field) => kept[field] !== other[field])
    .map((field) => `${field} ${String(kept[field])} ≠ ${String(other[field])}`)
    .join(', ')
}
