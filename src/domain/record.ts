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

/** What every record of one written batch shares: where it came from and when it was loaded. */
export type Provenance = Pick<NewRecord, 'source' | 'runId' | 'rawBatchId' | 'loadedAt'>

/** A record's own values: its time and market values (an observation is one). */
export interface ObservedValues extends MarketValues {
  readonly observedAt: string
}

/**
 * Records to write, as parallel columns: row `i` is `values[i]` at `assetIds[i]`, from the source
 * asset `sourceAssetIds[i]`, with the batch's provenance. A batch of a million rows then holds no
 * object per row beyond its observations.
 */
export interface RecordBatch {
  readonly provenance: Provenance
  readonly assetIds: readonly string[]
  readonly sourceAssetIds: readonly (string | null)[]
  readonly values: readonly ObservedValues[]
}

/** Records that share their provenance, as a batch; throws when they do not (a caller's bug). */
export function recordBatchOf(records: readonly NewRecord[]): RecordBatch {
  const first = records[0]
  if (first === undefined) throw new Error('a record batch needs at least one record')
  for (const r of records) {
    if (
      r.source !== first.source ||
      r.runId !== first.runId ||
      r.rawBatchId !== first.rawBatchId ||
      r.loadedAt !== first.loadedAt
    )
      throw new Error('records written together must share source, run, raw batch and load time')
  }
  return {
    provenance: {
      source: first.source,
      runId: first.runId,
      rawBatchId: first.rawBatchId,
      loadedAt: first.loadedAt,
    },
    assetIds: records.map((r) => r.assetId),
    sourceAssetIds: records.map((r) => r.sourceAssetId),
    values: records,
  }
}

/**
 * The values an observation fixes at its `observed_at`, which a second sighting of the same key must
 * repeat. `rank` is not one: an upstream ranks its listing when it is asked, so a coin not updated
 * since it was stored still moves in rank as other coins move (seen when the upstream clock went
 * back over a snapshot already loaded: every such coin was rejected as a conflict).
 */
export const OBSERVED_FIELDS = MARKET_FIELDS.filter((field) => field !== 'rank')

/** Whether two sightings of one key agree on what was observed; a differing rank keeps the first. */
export function sameMarketValues(a: MarketValues, b: MarketValues): boolean {
  return OBSERVED_FIELDS.every((field) => a[field] === b[field])
}

/** The fields that differ, for a conflict message a person can act on. */
export function describeDifference(kept: MarketValues, other: MarketValues): string {
  return MARKET_FIELDS.filter((field) => kept[field] !== other[field])
    .map((field) => `${field} ${String(kept[field])} ≠ ${String(other[field])}`)
    .join(', ')
}
