import {
  candleItem,
  consensusCandles,
  foldHours,
  type Candle,
  type HourCandle,
} from '../../domain/candles.js'
import type { Db } from '../database.js'
import { readCandleHours, readConsensusJoined } from './candle-hours-repository.js'
import { disjointSpans, staleHoursOverlapping, type StaleHours } from './candle-marks-repository.js'
import { rawCandleRows, type CandleRow, type RawCandleQuery } from './candle-sql.js'

/** An asset's candles of `[from, to)`, of one source or all. */
export type CandleQuery = RawCandleQuery

/**
 * Per source, the OHLC candles of an asset's price over `[from, to)` (whole buckets), oldest first.
 * 5-minute candles come from the records (`rawCandleRows`). Hourly, daily and weekly ones from the
 * hourly rollup (`candle_hours`), except the hours marked stale, which come from the records in the
 * same way; the hours are then folded into the interval's buckets: the open of the first hour, the
 * close, market cap and volume of the last, the highest high, the lowest low and every point.
 */
export async function sourceCandles(
  db: Db,
  query: CandleQuery,
  /** The marks overlapping the range, when the caller has read them already. */
  known?: readonly StaleHours[],
): Promise<Map<string, Candle[]>> {
  if (query.interval === '5m') {
    const { rows } = await rawCandleRows(db.kind, query).execute(db.kysely)
    return foldHours(rows.map(toHour), query.interval)
  }
  const fromS = Date.parse(query.from) / 1000
  const toS = Date.parse(query.to) / 1000
  const range = { assetId: query.assetId, source: query.source, fromS, toS }
  const [stale, rolled] = await Promise.all([
    known ?? staleHoursOverlapping(db.kysely, range),
    readCandleHours(db.kysely, range),
  ])
  if (stale.length === 0) return foldHours(rolled, query.interval)
  const isStale = (h: HourCandle) =>
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

const toHour = (row: CandleRow): HourCandle => ({
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

/**
 * The consensus candles of an asset's hours `[from, to)`, oldest first, as the JSON array the API
 * answers: the rollup's consensus, joined by the database, except hours where any source is marked
 * stale, whose consensus is computed from the sources' candles (`sourceCandles`, which takes those
 * from the records) and printed in between.
 */
export async function consensusHourJson(
  db: Db,
  query: Omit<CandleQuery, 'interval' | 'source'>,
): Promise<string> {
  const fromS = Date.parse(query.from) / 1000
  const toS = Date.parse(query.to) / 1000
  const stale = await staleHoursOverlapping(db.kysely, {
    assetId: query.assetId,
    source: undefined,
    fromS,
    toS,
  })
  const spans = disjointSpans(stale.map((s) => [Math.max(fromS, s.fromS), Math.min(toS, s.toS)] as const))
  const parts: string[] = []
  let at = fromS
  for (const [from, to] of [...spans, [toS, toS] as [number, number]]) {
    if (from > at) {
      const stored = await readConsensusJoined(db.kysely, { assetId: query.assetId, fromS: at, toS: from })
      if (stored) parts.push(stored)
    }
    if (to > from) {
      const iso = (s: number) => new Date(s * 1000).toISOString()
      const bySource = await sourceCandles(
        db,
        { assetId: query.assetId, interval: '1h', from: iso(from), to: iso(to) },
        stale.filter((s) => s.fromS < to && s.toS > from),
      )
      for (const c of consensusCandles(bySource)) parts.push(JSON.stringify(candleItem(c, undefined)))
    }
    at = Math.max(at, to)
  }
  return `[${parts.join(',')}]`
}
