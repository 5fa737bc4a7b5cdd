import { sql, type RawBuilder } from 'kysely'
import { CANDLE_BUCKETS, type CandleInterval } from '../../domain/candle-buckets.js'
import type { Db } from '../database.js'

/** What the candle SQL reads: an asset's records of `[from, to)`, of one source or all. */
export interface RawCandleQuery {
  readonly assetId: string
  readonly interval: CandleInterval
  /** Inclusive, ISO 8601 UTC as stored. */
  readonly from: string
  /** Exclusive. */
  readonly to: string
  readonly source?: string | undefined
}

/**
 * Per source and bucket, the OHLC of an asset's price over `[from, to)` straight from the records,
 * ordered by source and bucket: one pass over the range groups each source's observations by bucket
 * (highs, lows, counts, and the times of the first and last), then, on SQLite, each bucket's first
 * and last observation is looked up by its natural key for the open, the close, and the last market
 * cap and volume (only when the bucket holds more than one observation); PostgreSQL pairs them with
 * the times in the same pass. Both read the natural key and the table: these reads are the rollup's
 * refresh, its stale hours and 5-minute candles, mostly short ranges.
 */
export function rawCandleRows(kind: Db['kind'], query: RawCandleQuery): RawBuilder<CandleRow> {
  return kind === 'postgres' ? postgresCandleRows(query) : sqliteCandleRows(query)
}

/** SQLite: one grouping pass, then each bucket's first and last row by its natural key. */
function sqliteCandleRows(query: RawCandleQuery): RawBuilder<CandleRow> {
  const bucketS = bucketExpression('sqlite', query.interval)
  // SQLite's planner would start from the records and scan the buckets for each: a LEFT JOIN keeps
  // the ~10,000 buckets outside and the two lookups inside. A bucket of one observation needs no
  // lookup at all (its open, close, market cap and volume are that row's, which the aggregates
  // already hold): a NULL key makes SQLite skip the seek, which over a large table is most of the
  // query's time when sources are observed about once per bucket.
  const lookupAsset = sql`CASE WHEN b.points > 1 THEN ${query.assetId} END`
  return sql<CandleRow>`
    WITH buckets AS (
      SELECT source, ${bucketS} AS bucket_s, MIN(observed_at) AS first_at, MAX(observed_at) AS last_at,
        MAX(price_usd) AS high, MIN(price_usd) AS low, COUNT(*) AS points,
        MAX(market_cap_usd) AS one_cap, MAX(volume_24h_usd) AS one_volume
      FROM records
      WHERE asset_id = ${query.assetId}
        AND observed_at >= ${query.from} AND observed_at < ${query.to}
        AND price_usd IS NOT NULL
        ${query.source === undefined ? sql`` : sql`AND source = ${query.source}`}
      GROUP BY source, bucket_s
    )
    SELECT b.source, b.bucket_s AS bucket,
      CASE WHEN b.points = 1 THEN b.high ELSE o.price_usd END AS open, b.high, b.low,
      CASE WHEN b.points = 1 THEN b.high ELSE c.price_usd END AS close,
      CASE WHEN b.points = 1 THEN b.one_cap ELSE c.market_cap_usd END AS cap,
      CASE WHEN b.points = 1 THEN b.one_volume ELSE c.volume_24h_usd END AS volume, b.points
    FROM buckets b
    LEFT JOIN records o ON o.asset_id = ${lookupAsset} AND o.observed_at = b.first_at AND o.source = b.source
      AND o.observed_at >= ${query.from} AND o.observed_at < ${query.to} AND o.price_usd IS NOT NULL
    LEFT JOIN records c ON c.asset_id = ${lookupAsset} AND c.observed_at = b.last_at AND c.source = b.source
      AND c.observed_at >= ${query.from} AND c.observed_at < ${query.to}
    ORDER BY b.source, b.bucket_s
  `
}

/**
 * PostgreSQL: one pass with no lookups. The open is the price paired with the least time (arrays
 * compare element by element, and a source has one row per time), the close, market cap and volume
 * those paired with the greatest; all exact float8.
 */
function postgresCandleRows(query: RawCandleQuery): RawBuilder<CandleRow> {
  const bucketS = bucketExpression('postgres', query.interval)
  return sql<CandleRow>`
    SELECT source, bucket, opening[2] AS open, high, low, closing[2] AS close, closing[3] AS cap,
      closing[4] AS volume, points
    FROM (
      SELECT source, ${bucketS} AS bucket,
        MIN(ARRAY[date_part('epoch', observed_at), price_usd]) AS opening,
        MAX(ARRAY[date_part('epoch', observed_at), price_usd, market_cap_usd, volume_24h_usd]) AS closing,
        MAX(price_usd) AS high, MIN(price_usd) AS low, COUNT(*) AS points
      FROM records
      WHERE asset_id = ${query.assetId}
        AND observed_at >= ${query.from} AND observed_at < ${query.to}
        AND price_usd IS NOT NULL
        ${query.source === undefined ? sql`` : sql`AND source = ${query.source}`}
      GROUP BY source, bucket
    ) buckets
    ORDER BY source, bucket
  `
}

/** One-word names: the CamelCasePlugin renames result columns, raw ones too. */
export interface CandleRow {
  source: string
  /** Unix seconds (a bigint string on PostgreSQL). */
  bucket: number | string
  open: number | string
  high: number | string
  low: number | string
  close: number | string
  cap: number | string | null
  volume: number | string | null
  points: number | string
}

/** The Unix second a row's bucket starts at, in the dialect's SQL. */
function bucketExpression(kind: Db['kind'], interval: CandleInterval): RawBuilder<number> {
  const { widthS, offsetS } = CANDLE_BUCKETS[interval]
  const width = sql.lit(widthS)
  const offset = sql.lit(offsetS)
  return kind === 'postgres'
    ? // date_part is float8 arithmetic; extract() is numeric, several times slower per row.
      sql<number>`(floor((date_part('epoch', observed_at) - ${offset}) / ${width}) * ${width} + ${offset})::bigint`
    : sql<number>`((CAST(strftime('%s', observed_at) AS INTEGER) - ${offset}) / ${width} * ${width} + ${offset})`
}
