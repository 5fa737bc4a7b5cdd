/**
 * Pure builders of CoinGecko and CoinPaprika payloads from the catalogue at a snapshot, with the
 * field lists, key order, types and number formatting of upstream-apis.md §1.3–1.5 and §2.2–2.3.
 */
import type { CatalogueCoin } from './catalogue.js'
import { cgPrice, percent, significant } from './number-format.js'
import {
  coinKey,
  metricsOf,
  priceAt,
  unit,
  WINDOWS,
  type ChangeWindow,
  type Metrics,
  type Snapshot,
} from './market-model.js'

export interface CoingeckoMarket {
  id: string
  symbol: string
  name: string
  image: string
  current_price: number
  market_cap: number
  market_cap_rank: number | null
  fully_diluted_valuation: number
  total_volume: number
  high_24h: number
  low_24h: number
  price_change_24h: number
  price_change_percentage_24h: number
  market_cap_change_24h: number
  market_cap_change_percentage_24h: number
  circulating_supply: number
  total_supply: number
  max_supply: number | null
  ath: number
  ath_change_percentage: number
  ath_date: string
  atl: number
  atl_change_percentage: number
  atl_date: string
  roi: { times: number; currency: string; percentage: number } | null
  last_updated: string
  sparkline_in_7d?: { price: number[] }
  [inCurrency: `price_change_percentage_${string}_in_currency`]: number
}

export interface CoinpaprikaQuote {
  price: number
  volume_24h: number
  volume_24h_change_24h: number
  market_cap: number
  market_cap_change_24h: number
  percent_change_15m: number
  percent_change_30m: number
  percent_change_1h: number
  percent_change_6h: number
  percent_change_12h: number
  percent_change_24h: number
  percent_change_7d: number
  percent_change_30d: number
  percent_change_1y: number
  ath_price: number
  ath_date: string
  percent_from_price_ath: number
}

export interface CoinpaprikaTicker {
  id: string
  name: string
  symbol: string
  rank: number
  circulating_supply?: number
  total_supply: number
  max_supply: number
  beta_value: number
  first_data_at: string
  last_updated: string
  quotes: { USD: CoinpaprikaQuote }
}

export type CoinpaprikaPlan = 'free' | 'paid'

const HOUR = 3_600_000
const CG_CHANGE_WINDOWS = ['1h', '24h', '7d', '14d', '30d', '200d', '1y'] as const

/** `/coins/markets` rows for `coins`, sorted by market cap (zero last) and ranked like CoinGecko ranks. */
export function coingeckoMarkets(
  coins: readonly CatalogueCoin[],
  snapshot: Snapshot,
  extras: { sparkline?: boolean; priceChange?: readonly string[] } = {},
): CoingeckoMarket[] {
  const rows = coins
    .filter((coin) => coin.coingecko)
    .map((coin) => coingeckoMarket(coin, metricsOf(coin, snapshot), extras))
  rows.sort((a, b) => b.market_cap - a.market_cap || byCodeUnit(a.id, b.id))
  const unranked = new Set(coins.filter((c) => c.rank === null).map((c) => c.coingecko?.id))
  let rank = 0
  for (const row of rows) row.market_cap_rank = unranked.has(row.id) || row.market_cap === 0 ? null : ++rank
  return rows
}

function coingeckoMarket(
  coin: CatalogueCoin,
  m: Metrics,
  extras: { sparkline?: boolean; priceChange?: readonly string[] },
): CoingeckoMarket {
  const cg = coin.coingecko ?? { id: '', symbol: '', name: '' }
  const known = !coin.supplyUnknownOn?.includes('coingecko')
  const circulating = known ? coin.circulatingSupply : 0
  const price = cgPrice(m.price)
  const price24h = m.priceAgo['24h']
  const marketCap = Math.round(m.price * circulating)
  const marketCap24h = Math.round(price24h * circulating)
  const row: CoingeckoMarket = {
    id: cg.id,
    symbol: cg.symbol,
    name: cg.name,
    image: `https://coin-images.coingecko.com/coins/images/${imageNumber(coin)}/large/${cg.id}.png?1696501400`,
    current_price: price,
    market_cap: marketCap,
    market_cap_rank: null,
    fully_diluted_valuation: Math.round(m.price * (coin.maxSupply ?? coin.totalSupply)),
    total_volume: Math.round(m.volume),
    high_24h: cgPrice(m.high24h),
    low_24h: cgPrice(m.low24h),
    price_change_24h: significant(m.price - price24h, 8),
    price_change_percentage_24h: percent(m.price, price24h, 5),
    market_cap_change_24h: significant(marketCap - marketCap24h, 10),
    market_cap_change_percentage_24h: known ? percent(marketCap, marketCap24h, 5) : 0,
    circulating_supply: circulating,
    total_supply: coin.totalSupply,
    max_supply: coin.maxSupply,
    ath: cgPrice(m.ath),
    ath_change_percentage: percent(m.price, m.ath, 5),
    ath_date: new Date(m.athDate).toISOString(),
    atl: cgPrice(m.atl),
    atl_change_percentage: percent(m.price, m.atl, 5),
    atl_date: new Date(m.atlDate).toISOString(),
    roi: coin.ico ? roi(m.price, coin.ico) : null,
    last_updated: new Date(m.updatedAt).toISOString(),
  }
  if (extras.sparkline) {
    const hours = Array.from({ length: 168 }, (_, i) => m.updatedAt - (167 - i) * HOUR)
    row.sparkline_in_7d = { price: hours.map((t) => significant(priceAt(coin, t), 10)) }
  }
  for (const window of CG_CHANGE_WINDOWS.filter((w) => extras.priceChange?.includes(w))) {
    const then =
      window in WINDOWS
        ? m.priceAgo[window as ChangeWindow]
        : priceAt(coin, m.updatedAt - Number.parseInt(window, 10) * 24 * HOUR)
    row[`price_change_percentage_${window}_in_currency`] = percent(m.price, then, 5)
  }
  return row
}

/** `/coins/list` rows, sorted by id as CoinGecko sorts them; `platforms` only when asked for. */
export function coingeckoList(coins: readonly CatalogueCoin[], includePlatform: boolean): object[] {
  return coins
    .flatMap((coin) => (coin.coingecko ? [{ ...coin.coingecko, platforms: coin.platforms ?? {} }] : []))
    .sort((a, b) => byCodeUnit(a.id, b.id))
    .map(({ platforms, ...rest }) => (includePlatform ? { ...rest, platforms } : rest))
}

/** CoinPaprika's prices sit a little off CoinGecko's, by a fixed factor per coin (±0.1 %). */
export function coinpaprikaBias(coin: CatalogueCoin): number {
  return 1 + 0.002 * (unit(coinKey(coin), 'paprika') - 0.5)
}

/**
 * A `/tickers` element at CoinPaprika's own `rank` (0 when inactive). The free plan has no
 * `circulating_supply`; `max_supply: 0` means uncapped.
 */
export function coinpaprikaTicker(
  coin: CatalogueCoin,
  snapshot: Snapshot,
  plan: CoinpaprikaPlan,
  rank: number,
): CoinpaprikaTicker {
  const cp = coin.coinpaprika ?? { id: '', symbol: '', name: '' }
  const m = metricsOf(coin, snapshot)
  const bias = coinpaprikaBias(coin)
  const price = m.price * bias
  const known = !coin.supplyUnknownOn?.includes('coinpaprika')
  const change = (window: ChangeWindow) =>
    window === '1y' && m.since > m.updatedAt - WINDOWS['1y'] ? 0 : percent(m.price, m.priceAgo[window], 2)
  return {
    id: cp.id,
    name: cp.name,
    symbol: cp.symbol,
    rank,
    ...(plan === 'paid' ? { circulating_supply: known ? Math.round(coin.circulatingSupply) : 0 } : {}),
    total_supply: Math.round(coin.totalSupply),
    max_supply: Math.round(coin.maxSupply ?? 0),
    beta_value: significant(m.beta, 6),
    first_data_at: rfc3339(m.since),
    last_updated: rfc3339(m.updatedAt),
    quotes: {
      USD: {
        price,
        volume_24h: m.volume * bias,
        volume_24h_change_24h: percent(m.volume, m.volume24hAgo, 2),
        market_cap: known ? Math.round(price * coin.circulatingSupply) : 0,
        market_cap_change_24h: known ? percent(m.price, m.priceAgo['24h'], 2) : 0,
        percent_change_15m: change('15m'),
        percent_change_30m: change('30m'),
        percent_change_1h: change('1h'),
        percent_change_6h: change('6h'),
        percent_change_12h: change('12h'),
        percent_change_24h: change('24h'),
        percent_change_7d: change('7d'),
        percent_change_30d: change('30d'),
        percent_change_1y: change('1y'),
        ath_price: m.ath * bias,
        ath_date: rfc3339(m.athDate),
        percent_from_price_ath: percent(m.price, m.ath, 2),
      },
    },
  }
}

/** `/coins/{id}` (coin_extended). */
export function coinpaprikaCoin(coin: CatalogueCoin, snapshot: Snapshot, rank: number): object {
  const cp = coin.coinpaprika ?? { id: '', symbol: '', name: '' }
  const m = metricsOf(coin, snapshot)
  const contracts = coin.contracts ?? []
  const website = `https://${coinKey(coin)}.org/`
  return {
    id: cp.id,
    name: cp.name,
    symbol: cp.symbol,
    parent: null,
    rank,
    is_new: false,
    is_active: coin.isActive !== false,
    type: contracts.length > 0 ? 'token' : 'coin',
    logo: `https://static.coinpaprika.com/coin/${cp.id}/logo.png`,
    tags: [],
    team: [],
    description: `${cp.name} (${cp.symbol}) is a cryptocurrency served by the coinpipe fake upstream.`,
    message: coin.isActive === false ? 'This project is no longer tracked.' : '',
    open_source: true,
    hardware_wallet: rank > 0 && rank <= 30,
    started_at: rfc3339(m.since),
    development_status: 'Working product',
    proof_type: null,
    org_structure: 'Decentralized',
    hash_algorithm: null,
    contract: contracts[0]?.contract ?? null,
    platform: contracts[0]?.platform ?? null,
    contracts,
    links: {
      explorer: [],
      facebook: null,
      reddit: null,
      source_code: null,
      website: [website],
      youtube: null,
    },
    links_extended: [{ url: website, type: 'website' }],
    whitepaper: { link: null, thumbnail: null },
    first_data_at: rfc3339(m.since),
    last_data_at: rfc3339(m.updatedAt),
  }
}

/** `/global`, summed over the tickers; `last_updated` is Unix seconds. */
export function coinpaprikaGlobal(tickers: readonly CoinpaprikaTicker[], snapshot: Snapshot): object {
  const active = tickers.filter((t) => t.rank > 0)
  const sum = (f: (q: CoinpaprikaQuote) => number) => active.reduce((total, t) => total + f(t.quotes.USD), 0)
  const marketCap = Math.round(sum((q) => q.market_cap))
  const volume = Math.round(sum((q) => q.volume_24h))
  const marketCapBefore = sum((q) => q.market_cap / (1 + q.market_cap_change_24h / 100))
  const volumeBefore = sum((q) => q.volume_24h / (1 + q.volume_24h_change_24h / 100))
  const btc = active.find((t) => t.id === 'btc-bitcoin')?.quotes.USD.market_cap ?? 0
  const volumeAth = Math.max(volume, 3_957_000_000_000)
  return {
    market_cap_usd: marketCap,
    volume_24h_usd: volume,
    bitcoin_dominance_percentage: marketCap ? Math.round((btc / marketCap) * 10_000) / 100 : 0,
    cryptocurrencies_number: active.length,
    market_cap_ath_value: Math.max(marketCap, 4_379_000_000_000),
    market_cap_ath_date: '2025-10-06T19:00:00Z',
    volume_24h_ath_value: volumeAth,
    volume_24h_ath_date: '2021-05-19T14:25:00Z',
    volume_24h_percent_from_ath: percent(volume, volumeAth, 2),
    volume_24h_percent_to_ath: volume ? Math.min(percent(volumeAth, volume, 2), 9999.99) : 9999.99,
    market_cap_change_24h: percent(marketCap, marketCapBefore, 2),
    volume_24h_change_24h: percent(volume, volumeBefore, 2),
    last_updated: Math.floor(snapshot.at / 1000),
  }
}

function roi(price: number, ico: NonNullable<CatalogueCoin['ico']>): CoingeckoMarket['roi'] {
  const times = price / ico.priceUsd - 1
  return { times: significant(times, 12), currency: ico.currency, percentage: significant(times * 100, 12) }
}

function imageNumber(coin: CatalogueCoin): number {
  const key = coinKey(coin)
  if (key === 'bitcoin') return 1
  if (key === 'ethereum') return 279
  return 100 + Math.floor(unit(key, 'image') * 50_000)
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** Ordinal, not locale, order: the same bytes on every machine. */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
