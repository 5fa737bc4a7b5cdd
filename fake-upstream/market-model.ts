import { REFERENCE_TIME, type CatalogueCoin } from './catalogue.js'

/** The fake's clock: `at` is the snapshot time, `start` the snapshot the server started with. */
export interface Snapshot {
  at: number
  start: number
}

/** One coin's market at its own `updatedAt`; every value is a pure function of (coin, snapshot). */
export interface Metrics {
  updatedAt: number
  price: number
  /** Price this long ago, keyed by CoinPaprika's window names. */
  priceAgo: Record<ChangeWindow, number>
  volume: number
  volume24hAgo: number
  high24h: number
  low24h: number
  ath: number
  athDate: number
  atl: number
  atlDate: number
  since: number
  beta: number
}

export type ChangeWindow = '15m' | '30m' | '1h' | '6h' | '12h' | '24h' | '7d' | '30d' | '1y'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const YEAR = 365 * DAY
/** A coin left out of an update keeps its values until this much snapshot time has passed. */
const STALE_PERIOD = 10 * MINUTE
const REF = REFERENCE_TIME.getTime()
const TAU = 2 * Math.PI

export const WINDOWS: Record<ChangeWindow, number> = {
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': HOUR,
  '6h': 6 * HOUR,
  '12h': 12 * HOUR,
  '24h': DAY,
  '7d': 7 * DAY,
  '30d': 30 * DAY,
  '1y': YEAR,
}

/** A deterministic number in [0, 1) from a coin key and a salt (FNV-1a). */
export function unit(key: string, salt: string | number): number {
  let hash = 0x811c9dc5
  const text = `${key}:${salt}`
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) / 2 ** 32
}

const seeds = new WeakMap<CatalogueCoin, Map<string, number>>()

/** `unit(coinKey(coin), salt)`, remembered: payloads for 2000 coins ask for the same few seeds many times. */
function seed(coin: CatalogueCoin, salt: string): number {
  let known = seeds.get(coin)
  if (!known) seeds.set(coin, (known = new Map<string, number>()))
  let value = known.get(salt)
  if (value === undefined) known.set(salt, (value = unit(coinKey(coin), salt)))
  return value
}

/** The id both sources' values derive from, so a coin listed on both moves the same way on both. */
export function coinKey(coin: CatalogueCoin): string {
  return coin.coingecko?.id ?? coin.coinpaprika?.id ?? 'unknown'
}

/** About one coin in ten is not refreshed by each update, as real snapshots always have a few laggards. */
export function isLaggard(coin: CatalogueCoin): boolean {
  return seed(coin, 'laggard') < 0.1
}

export function updatedAt(coin: CatalogueCoin, snapshot: Snapshot): number {
  const offset = Math.floor(seed(coin, 'offset') * 4 * MINUTE)
  if (!isLaggard(coin)) return snapshot.at - offset
  const steps = Math.floor((snapshot.at - snapshot.start) / STALE_PERIOD)
  return snapshot.start + steps * STALE_PERIOD - offset
}

export function priceAt(coin: CatalogueCoin, t: number): number {
  const key = coinKey(coin)
  const x = t - REF
  const noise = unit(key, Math.floor(t / MINUTE)) - 0.5
  if (coin.stable)
    return coin.priceUsd * (1 + 0.0006 * Math.sin(x / (5 * HOUR) + 7 * seed(coin, 'p1')) + 0.0003 * noise)
  const volatility = 0.02 + 0.03 * seed(coin, 'volatility')
  const trend = (seed(coin, 'trend') - 0.4) * 0.8 * (x / YEAR)
  const wave =
    Math.sin((TAU * x) / (3.1 * DAY) + TAU * seed(coin, 'p1')) +
    0.6 * Math.sin((TAU * x) / (11 * HOUR) + TAU * seed(coin, 'p2')) +
    0.3 * Math.sin((TAU * x) / (53 * MINUTE) + TAU * seed(coin, 'p3'))
  return coin.priceUsd * Math.exp(trend + volatility * (wave + 0.3 * noise))
}

export function volumeAt(coin: CatalogueCoin, t: number): number {
  if (coin.isActive === false) return 0
  const key = coinKey(coin)
  const supply = Math.max(coin.circulatingSupply, coin.totalSupply * 0.05)
  const turnover = 0.02 + 0.12 * seed(coin, 'turnover')
  const swing = 0.15 * Math.sin((TAU * (t - REF)) / (1.7 * DAY) + TAU * seed(coin, 'p4'))
  return (
    priceAt(coin, t) *
    supply *
    turnover *
    Math.exp(swing + 0.1 * (unit(key, `v${Math.floor(t / MINUTE)}`) - 0.5))
  )
}

export function sinceOf(coin: CatalogueCoin): number {
  if (coin.since) return Date.parse(coin.since)
  const first = Date.UTC(2014, 0, 1)
  const day = Math.floor((seed(coin, 'since') * (REF - 90 * DAY - first)) / DAY)
  return first + day * DAY
}

export function metricsOf(coin: CatalogueCoin, snapshot: Snapshot): Metrics {
  const at = updatedAt(coin, snapshot)
  const price = priceAt(coin, at)
  const priceAgo = Object.fromEntries(
    Object.entries(WINDOWS).map(([name, ms]) => [name, priceAt(coin, at - ms)]),
  ) as Record<ChangeWindow, number>
  const hourly = Array.from({ length: 24 }, (_, h) => priceAt(coin, at - (h + 1) * HOUR))
  const high24h = Math.max(price, ...hourly)
  const low24h = Math.min(price, ...hourly)
  const since = sinceOf(coin)

  // Majors trade near their highs, the long tail far below them.
  const athSpread = coin.stable ? 0.08 : (coin.rank ?? 100) <= 10 ? 0.4 : 3
  const athBase = coin.priceUsd * (1.05 + athSpread * seed(coin, 'ath'))
  const athFrom = Math.max(since + 30 * DAY, REF - 5 * YEAR)
  const athBaseDate = athFrom + Math.floor(seed(coin, 'athDate') * Math.max(REF - 60 * DAY - athFrom, DAY))
  const newHigh = high24h > athBase
  const atl =
    coin.priceUsd * (coin.stable ? 0.9 + 0.08 * seed(coin, 'atl') : 0.002 + 0.25 * seed(coin, 'atl'))
  const atlDate = since + Math.floor(seed(coin, 'atlDate') * Math.min(YEAR, athBaseDate - since))

  return {
    updatedAt: at,
    price,
    priceAgo,
    volume: volumeAt(coin, at),
    volume24hAgo: volumeAt(coin, at - DAY),
    high24h,
    low24h,
    ath: newHigh ? high24h : athBase,
    athDate: newHigh ? at : athBaseDate,
    atl: Math.min(atl, low24h),
    atlDate,
    since,
    beta: coin.stable ? -(0.0002 + 0.001 * seed(coin, 'beta')) : 0.6 + 0.9 * seed(coin, 'beta'),
  }
}
