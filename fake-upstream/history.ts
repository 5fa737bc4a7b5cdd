/**
 * The fake's history endpoints, from the same market model as its snapshots: the price a snapshot
 * shows for a coin at its `last_updated` is the price its history shows at that time.
 *
 * - CoinGecko `GET /coins/{id}/market_chart/range?vs_currency=usd&from=&to=` (Unix seconds):
 *   `{prices, market_caps, total_volumes}` as `[ms, value]` pairs, at the granularity CoinGecko
 *   picks itself: 5-minutely for a range of at most a day that ends within the last day, hourly up
 *   to 90 days, daily (00:00 UTC) beyond. A Demo or keyless plan reaches the last 365 days.
 * - CoinPaprika `GET /tickers/{id}/historical?start=&end=&interval=&limit=`:
 *   `[{timestamp, price, volume_24h, market_cap}]`. The free plan reaches daily data for the last
 *   year and finer data for the last day only.
 *
 * Beyond a plan's window both answer 401 with `error_code` 10012 inside an extra `error` wrapper
 * (upstream-apis.md §2.6).
 */
import type { CatalogueCoin } from './catalogue.js'
import type { UpstreamError } from './faults.js'
import { priceAt, sinceOf, volumeAt, type Snapshot } from './market-model.js'
import { cgPrice } from './number-format.js'
import { coinpaprikaBias, rfc3339 } from './payloads.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** How far back a Demo key (CoinGecko) or the free plan's daily data (CoinPaprika) reaches. */
export const HISTORY_WINDOW_MS = 365 * DAY
/** How far back the free plan's intraday CoinPaprika data reaches. */
const INTRADAY_WINDOW_MS = DAY
const CP_MAX_LIMIT = 5000
const CP_INTERVALS: Record<string, number> = {
  '5m': 5 * MINUTE,
  '10m': 10 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '45m': 45 * MINUTE,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '3h': 3 * HOUR,
  '6h': 6 * HOUR,
  '12h': 12 * HOUR,
  '24h': DAY,
  '1d': DAY,
  '7d': 7 * DAY,
  '14d': 14 * DAY,
  '30d': 30 * DAY,
  '90d': 90 * DAY,
  '365d': 365 * DAY,
}

export type HistoryAnswer = { payload: unknown } | { error: UpstreamError }

/** The step CoinGecko's `/market_chart/range` answers at for `[from, to]` seen at `now`. */
export function coingeckoGranularityMs(from: number, to: number, now: number): number {
  if (to - from <= DAY && from >= now - DAY) return 5 * MINUTE
  return to - from <= 90 * DAY ? HOUR : DAY
}

export function coingeckoRange(
  coin: CatalogueCoin,
  query: Record<string, string>,
  snapshot: Snapshot,
  plan: 'demo' | 'pro',
): HistoryAnswer {
  if (query.vs_currency?.toLowerCase() !== 'usd') return badRequest('invalid vs_currency')
  const from = parseInstant(query.from)
  const to = parseInstant(query.to)
  if (from === undefined) return badRequest('from is required, in UNIX seconds')
  if (to === undefined) return badRequest('to is required, in UNIX seconds')
  const now = snapshot.at
  if (plan === 'demo' && from < now - HISTORY_WINDOW_MS) return windowExceeded(now, 'the past 365 days')
  const step = coingeckoGranularityMs(from, to, now)
  const known = !coin.supplyUnknownOn?.includes('coingecko')
  const prices: [number, number][] = []
  const caps: [number, number][] = []
  const volumes: [number, number][] = []
  for (const t of steps(Math.max(from, sinceOf(coin)), Math.min(to, now), step)) {
    const price = cgPrice(priceAt(coin, t))
    prices.push([t, price])
    caps.push([t, known ? Math.round(priceAt(coin, t) * coin.circulatingSupply) : 0])
    volumes.push([t, Math.round(volumeAt(coin, t))])
  }
  return { payload: { prices, market_caps: caps, total_volumes: volumes } }
}

export function coinpaprikaHistorical(
  coin: CatalogueCoin,
  query: Record<string, string>,
  snapshot: Snapshot,
  plan: 'free' | 'paid',
): HistoryAnswer {
  const start = parseInstant(query.start)
  if (start === undefined) return badRequest('start is required: RFC3339, yyyy-mm-dd or Unix seconds')
  const end = query.end === undefined ? snapshot.at : parseInstant(query.end)
  if (end === undefined) return badRequest('invalid end')
  const interval = query.interval ?? '5m'
  const step = CP_INTERVALS[interval]
  if (step === undefined) return badRequest('invalid interval')
  const limit = Number(query.limit ?? 1000)
  if (!Number.isInteger(limit) || limit < 1 || limit > CP_MAX_LIMIT) return badRequest('invalid limit')
  if ((query.quote ?? 'usd').toLowerCase() !== 'usd') return badRequest('invalid quote')
  const now = snapshot.at
  if (plan === 'free') {
    const reach = step >= DAY ? HISTORY_WINDOW_MS : INTRADAY_WINDOW_MS
    if (start < now - reach)
      return windowExceeded(now, step >= DAY ? 'the past year of daily data' : 'the past day of hourly data')
  }
  const bias = coinpaprikaBias(coin)
  const known = !coin.supplyUnknownOn?.includes('coinpaprika')
  const rows = []
  for (const t of steps(Math.max(start, sinceOf(coin)), Math.min(end, now), step)) {
    if (rows.length === limit) break
    const price = priceAt(coin, t) * bias
    rows.push({
      timestamp: rfc3339(t),
      price,
      volume_24h: volumeAt(coin, t) * bias,
      market_cap: known ? Math.round(price * coin.circulatingSupply) : 0,
    })
  }
  return { payload: rows }
}

/** Every multiple of `step` (from the epoch, so days start at 00:00 UTC) in `[from, to]`. */
function* steps(from: number, to: number, step: number): Generator<number> {
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) yield t
}

/** Unix seconds (fractions allowed), `yyyy-mm-dd` or RFC3339, as ms; undefined when absent or invalid. */
function parseInstant(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000)
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

function windowExceeded(now: number, reach: string): HistoryAnswer {
  return { error: { kind: 'history_window', timestamp: new Date(now).toISOString(), reach } }
}

function badRequest(message: string): HistoryAnswer {
  return { error: { kind: 'bad_request', message } }
}
