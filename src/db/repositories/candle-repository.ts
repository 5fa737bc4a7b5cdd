import { sql, type RawBuilder } from 'kysely'
import { median } from '../../domain/price-consensus.js'
import type { Db } from '../database.js'

export const CANDLE_INTERVALS = ['5m', '1h', '1d', '1w'] as const
export type CandleInterval = (typeof CANDLE_INTERVALS)[number]

const DAY_S = 86_400
/** Each interval's width, and where its buckets start: weeks on Mondays (1970-01-05), as ISO 8601 has them. */
const BUCKETS: Record<CandleInterval, { widthS: number; offsetS: number }> = {
  '5m': { widthS: 300, offsetS: 0 },
  '1h': { widthS: 3_600, offsetS: 0 },
  '1d': { widthS: DAY_S, offsetS: 0 },
  '1w': { widthS: 7 * DAY_S, offsetS: 4 * DAY_S },
}

/** One bucket of one source, or of the consensus. Buckets without an observed price are absent. */
export interface Candle {
  /** The bucket's start, ISO 8601 UTC. */
  readonly bucket: string
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  /** The bucket's last market cap (a level, not a flow). */
  readonly marketCapUsd: number | null
  /** The bucket's last 24-hour volume: a rolling 24 h sum already, so summing it again would count hours many times. */
  readonly volume24hUsd: number | null
  /** Observations with a price in the bucket. */
  readonly points: number
}

export interface CandleQuery {
  readonly assetId: string
  readonly interval: CandleInterval
  /** Inclusive, ISO 8601 UTC as stored. */
  readonly from: string
  /** Exclusive. */
  readonly to: string
  /** One source only; all of them when absent. */
  readonly source?: string
}

/**
 * Per source, the OHLC candles of an asset's price over `[from, to)`, computed in SQL: the first and
 * last observation of each bucket by window functions, highs and lows by aggregates. Served by the
 * records' natural key index (asset_id, observed_at, source).
 */
export async function sourceCandles(db: Db, query: CandleQuery): Promise<Map<string, Candle[]>> {
  const bucketS = bucketExpression(db.kind, query.interval)
  const { rows } = await sql<CandleRow>`
    WITH points AS (
      SELECT source, ${bucketS} AS bucket_s, observed_at, price_usd, market_cap_usd, volume_24h_usd
      FROM records
      WHERE asset_id = ${query.assetId}
        AND observed_at >= ${query.from} AND observed_at < ${query.to}
        AND price_usd IS NOT NULL
        ${query.source === undefined ? sql`` : sql`AND source = ${query.source}`}
    ), ranked AS (
      SELECT points.*,
        ROW_NUMBER() OVER (PARTITION BY source, bucket_s ORDER BY observed_at) AS first_rank,
        ROW_NUMBER() OVER (PARTITION BY source, bucket_s ORDER BY observed_at DESC) AS last_rank
      FROM points
    )
    SELECT source, bucket_s AS bucket,
      MAX(CASE WHEN first_rank = 1 THEN price_usd END) AS open,
      MAX(price_usd) AS high,
      MIN(price_usd) AS low,
      MAX(CASE WHEN last_rank = 1 THEN price_usd END) AS close,
      MAX(CASE WHEN last_rank = 1 THEN market_cap_usd END) AS cap,
      MAX(CASE WHEN last_rank = 1 THEN volume_24h_usd END) AS volume,
      COUNT(*) AS points
    FROM ranked
    GROUP BY source, bucket_s
    ORDER BY source, bucket_s
  `.execute(db.kysely)
  const bySource = new Map<string, Candle[]>()
  for (const row of rows) {
    const candles = bySource.get(row.source) ?? []
    if (candles.length === 0) bySource.set(row.source, candles)
    candles.push({
      bucket: new Date(Number(row.bucket) * 1000).toISOString(),
      open: Number(row.open),
      high: Number(row.high),
      low: Number(row.low),
      close: Number(row.close),
      marketCapUsd: row.cap === null ? null : Number(row.cap),
      volume24hUsd: row.volume === null ? null : Number(row.volume),
      points: Number(row.points),
    })
  }
  return bySource
}

/**
 * The consensus of per-source candles: per bucket, the median across the sources that observed it of
 * each value, and every source's points. A bucket no source observed stays absent.
 */
export function consensusCandles(bySource: ReadonlyMap<string, readonly Candle[]>): Candle[] {
  const buckets = new Map<string, Candle[]>()
  for (const candles of bySource.values())
    for (const candle of candles) {
      const at = buckets.get(candle.bucket) ?? []
      if (at.length === 0) buckets.set(candle.bucket, at)
      at.push(candle)
    }
  return [...buckets.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([bucket, candles]) => ({
      bucket,
      open: median(candles.map((c) => c.open))!,
      high: median(candles.map((c) => c.high))!,
      low: median(candles.map((c) => c.low))!,
      close: median(candles.map((c) => c.close))!,
      marketCapUsd: median(candles.flatMap((c) => (c.marketCapUsd === null ? [] : [c.marketCapUsd]))),
      volume24hUsd: median(candles.flatMap((c) => (c.volume24hUsd === null ? [] : [c.volume24hUsd]))),
      points: candles.reduce((n, c) => n + c.points, 0),
    }))
}

/** One-word names: the CamelCasePlugin renames result columns, raw ones too. */
interface CandleRow {
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
  const { widthS, offsetS } = BUCKETS[interval]
  const width = sql.lit(widthS)
  const offset = sql.lit(offsetS)
  return kind === 'postgres'
    ? sql<number>`(floor((extract(epoch from observed_at) - ${offset}) / ${width}) * ${width} + ${offset})::bigint`
    : sql<number>`((CAST(strftime('%s', observed_at) AS INTEGER) - ${offset}) / ${width} * ${width} + ${offset})`
}
