import type { Kysely } from 'kysely'
import { CANDLE_BUCKETS, type CandleInterval } from '../../domain/candle-buckets.js'
import { median } from '../../domain/price-consensus.js'
import type { Db } from '../database.js'
import type { Database } from '../schema.js'
import { staleHoursOverlapping } from './candle-hours-repository.js'
import { rawCandleRows, type CandleRow, type RawCandleQuery } from './candle-sql.js'

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

/** An asset's candles of `[from, to)`, of one source or all. */
export type CandleQuery = RawCandleQuery

/**
 * Per source, the OHLC candles of an asset's price over `[from, to)` (whole buckets), oldest first.
 * 5-minute candles come from the records (`rawCandleRows`). Hourly, daily and weekly ones from the
 * hourly rollup (`candle_hours`), except the hours marked stale, which come from the records in the
 * same way; the hours are then folded into the interval's buckets: the open of the first hour, the
 * close, market cap and volume of the last, the highest high, the lowest low and every point.
 */
export async function sourceCandles(db: Db, query: CandleQuery): Promise<Map<string, Candle[]>> {
  if (query.interval === '5m') {
    const { rows } = await rawCandleRows(db.kind, query).execute(db.kysely)
    return foldHours(rows.map(toHour), query.interval)
  }
  const fromS = Date.parse(query.from) / 1000
  const toS = Date.parse(query.to) / 1000
  const range = { assetId: query.assetId, source: query.source, fromS, toS }
  const [stale, rolled] = await Promise.all([
    staleHoursOverlapping(db.kysely, range),
    rolledUpHours(db.kysely, range),
  ])
  if (stale.length === 0) return foldHours(rolled, query.interval)
  const isStale = (h: Hour) =>
    stale.some((s) => s.source === h.source && h.hourS >= s.fromS && h.hourS < s.toS)
  const hours = rolled.filter((h) => !isStale(h))
  for (const s of stale) {
    const { rows } = await rawCandleRows(db.kind, {
      assetId: query.assetId,
      source: s.source,
      interval: '1h',
      from: new Date(Math.max(fromS, s.fromS) * 1000).toISOString(),
      to: new Date(Math.min(toS, s.toS) * 1000).toISOString(),
    }).execute(db.kysely)
    for (const row of rows) hours.push(toHour(row))
  }
  hours.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.hourS - b.hourS))
  return foldHours(hours, query.interval)
}

/** An hour (or a 5-minute bucket) of one source: a row of the rollup or of `rawCandleRows`. */
interface Hour {
  readonly source: string
  readonly hourS: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly cap: number | null
  readonly volume: number | null
  readonly points: number
}

const toHour = (row: CandleRow): Hour => ({
  source: row.source,
  hourS: Number(row.bucket),
  open: Number(row.open),
  high: Number(row.high),
  low: Number(row.low),
  close: Number(row.close),
  cap: row.cap === null ? null : Number(row.cap),
  volume: row.volume === null ? null : Number(row.volume),
  points: Number(row.points),
})

async function rolledUpHours(
  db: Kysely<Database>,
  range: { assetId: string; source: string | undefined; fromS: number; toS: number },
): Promise<Hour[]> {
  let select = db
    .selectFrom('candleHours')
    .select(['source', 'hourS', 'open', 'high', 'low', 'close', 'marketCap as cap', 'volume', 'points'])
    .where('assetId', '=', range.assetId)
    .where('hourS', '>=', range.fromS)
    .where('hourS', '<', range.toS)
  if (range.source !== undefined) select = select.where('source', '=', range.source)
  const rows = await select.orderBy('source').orderBy('hourS').execute()
  // PostgreSQL answers bigint as a string.
  for (const row of rows) if (typeof row.hourS !== 'number') row.hourS = Number(row.hourS)
  return rows
}

/**
 * Hours, ordered by source and time, folded into the interval's buckets per source. Hours already
 * are the buckets of `1h` (and `5m` rows of `5m`): each becomes one candle.
 */
function foldHours(hours: readonly Hour[], interval: CandleInterval): Map<string, Candle[]> {
  const { widthS, offsetS } = CANDLE_BUCKETS[interval]
  const bySource = new Map<string, Candle[]>()
  let candles: Candle[] = []
  let current: { -readonly [K in keyof Candle]: Candle[K] } | undefined
  let currentS = NaN
  let source: string | undefined
  for (const h of hours) {
    const bucketS = Math.floor((h.hourS - offsetS) / widthS) * widthS + offsetS
    if (h.source !== source) {
      source = h.source
      candles = []
      bySource.set(source, candles)
      current = undefined
    }
    if (current && bucketS === currentS) {
      if (h.high > current.high) current.high = h.high
      if (h.low < current.low) current.low = h.low
      current.close = h.close
      current.marketCapUsd = h.cap
      current.volume24hUsd = h.volume
      current.points += h.points
      continue
    }
    currentS = bucketS
    current = {
      bucket: new Date(bucketS * 1000).toISOString(),
      open: h.open,
      high: h.high,
      low: h.low,
      close: h.close,
      marketCapUsd: h.cap,
      volume24hUsd: h.volume,
      points: h.points,
    }
    candles.push(current)
  }
  return bySource
}

/** A bucket of the consensus, with the sources that observed it. */
export interface ConsensusCandle extends Candle {
  /** The sources with a candle in the bucket, by name. */
  readonly sources: readonly string[]
}

/**
 * The consensus of per-source candles: per bucket, the median across the sources that observed it of
 * each value, and every source's points. A bucket no source observed stays absent.
 */
export function consensusCandles(bySource: ReadonlyMap<string, readonly Candle[]>): ConsensusCandle[] {
  const buckets = new Map<string, { source: string; candle: Candle }[]>()
  for (const [source, candles] of bySource)
    for (const candle of candles) {
      const at = buckets.get(candle.bucket) ?? []
      if (at.length === 0) buckets.set(candle.bucket, at)
      at.push({ source, candle })
    }
  const medianOf = (values: (number | null)[]) => median(values.filter((v) => v !== null))
  return [...buckets.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([bucket, observed]) => {
      const candles = observed.map((o) => o.candle)
      return {
        bucket,
        open: median(candles.map((c) => c.open))!,
        high: median(candles.map((c) => c.high))!,
        low: median(candles.map((c) => c.low))!,
        close: median(candles.map((c) => c.close))!,
        marketCapUsd: medianOf(candles.map((c) => c.marketCapUsd)),
        volume24hUsd: medianOf(candles.map((c) => c.volume24hUsd)),
        points: candles.reduce((n, c) => n + c.points, 0),
        sources: observed.map((o) => o.source).sort(),
      }
    })
}
