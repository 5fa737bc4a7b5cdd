/**
 * The fake's endpoints: a path and query in, a payload (or a documented error) out. Payloads are
 * built once per snapshot and kept in `world.memo`, which the server clears when the clock moves.
 */
import { coinsOf, type CatalogueCoin } from './catalogue.js'
import type { UpstreamError } from './faults.js'
import { coingeckoRange, coinpaprikaHistorical } from './history.js'
import type { Snapshot } from './market-model.js'
import {
  byCodeUnit,
  coingeckoList,
  coingeckoMarkets,
  coinpaprikaCoin,
  coinpaprikaGlobal,
  coinpaprikaTicker,
  type CoingeckoMarket,
  type CoinpaprikaPlan,
  type CoinpaprikaTicker,
} from './payloads.js'

export interface World {
  snapshot: Snapshot
  coingeckoCoins: readonly CatalogueCoin[]
  /** In CoinPaprika's listing order: by rank, inactive (rank 0) coins last. */
  coinpaprikaCoins: readonly CatalogueCoin[]
  /** CoinPaprika's own ranks, 1… without gaps over its active coins; 0 when inactive. */
  coinpaprikaRanks: ReadonlyMap<CatalogueCoin, number>
  coinpaprikaPlan: CoinpaprikaPlan
  /** 'demo' (also keyless) reaches a year of history, 'pro' all of it. */
  coingeckoPlan: 'demo' | 'pro'
  memo: Map<string, unknown>
}

export function createWorld(options: {
  now: Date
  coingeckoMarkets?: number
  coinpaprikaTickers?: number
  coinpaprikaPlan: CoinpaprikaPlan
  coingeckoPlan?: 'demo' | 'pro'
}): World {
  const rank = (c: CatalogueCoin) => (c.isActive === false || c.rank === null ? Infinity : c.rank)
  const coinpaprikaCoins = coinsOf('coinpaprika', options.coinpaprikaTickers).sort(
    (a, b) => rank(a) - rank(b),
  )
  return {
    snapshot: { at: options.now.getTime(), start: options.now.getTime() },
    coingeckoCoins: coinsOf('coingecko', options.coingeckoMarkets),
    coinpaprikaCoins,
    coinpaprikaRanks: new Map(coinpaprikaCoins.map((c, i) => [c, rank(c) === Infinity ? 0 : i + 1])),
    coinpaprikaPlan: options.coinpaprikaPlan,
    coingeckoPlan: options.coingeckoPlan ?? 'demo',
    memo: new Map(),
  }
}

export type Routed = { payload: unknown } | { error: UpstreamError }

/** The free plan's `/tickers` cap (upstream-apis.md §1.2). */
const FREE_PLAN_TICKERS = 2000
const MAX_PER_PAGE = 250
const ORDERS: Record<string, (a: CoingeckoMarket, b: CoingeckoMarket) => number> = {
  market_cap_desc: () => 0,
  market_cap_asc: (a, b) => a.market_cap - b.market_cap,
  volume_desc: (a, b) => b.total_volume - a.total_volume,
  volume_asc: (a, b) => a.total_volume - b.total_volume,
  id_asc: (a, b) => byCodeUnit(a.id, b.id),
  id_desc: (a, b) => byCodeUnit(b.id, a.id),
}

export function routeCoingecko(path: string, query: Record<string, string>, world: World): Routed {
  if (path === '/ping') return { payload: { gecko_says: '(V3) To the Moon!' } }
  if (path === '/coins/list') {
    const include = query.include_platform === 'true'
    return {
      payload: remember(world, `cg:list:${include}`, () => coingeckoList(world.coingeckoCoins, include)),
    }
  }
  if (path === '/coins/markets') return coingeckoMarketsPage(query, world)
  const [, chartId] = /^\/coins\/([^/]+)\/market_chart\/range$/.exec(path) ?? []
  if (chartId !== undefined) {
    const coin = world.coingeckoCoins.find((c) => c.coingecko?.id === chartId)
    if (!coin) return { error: { kind: 'not_found', message: 'coin not found' } }
    return coingeckoRange(coin, query, world.snapshot, world.coingeckoPlan)
  }
  return { error: { kind: 'not_found', message: 'Incorrect path. Please check https://docs.coingecko.com/' } }
}

function coingeckoMarketsPage(query: Record<string, string>, world: World): Routed {
  if (query.vs_currency?.toLowerCase() !== 'usd') return badRequest('invalid vs_currency')
  const orderName = query.order ?? 'market_cap_desc'
  const order = Object.hasOwn(ORDERS, orderName) ? ORDERS[orderName] : undefined
  if (!order) return badRequest('invalid order')
  const perPage = Number(query.per_page ?? 100)
  const page = Number(query.page ?? 1)
  if (!Number.isInteger(perPage) || perPage < 1) return badRequest('invalid per_page')
  if (perPage > MAX_PER_PAGE) return badRequest(`per_page must be ≤ ${MAX_PER_PAGE}`)
  if (!Number.isInteger(page) || page < 1) return badRequest('invalid page')

  const sparkline = query.sparkline === 'true'
  const priceChange = (query.price_change_percentage ?? '').split(',').filter(Boolean)
  const rows = remember(world, `cg:markets:${sparkline}:${priceChange.join()}`, () =>
    coingeckoMarkets(world.coingeckoCoins, world.snapshot, { sparkline, priceChange }),
  )
  const ids = query.ids ? new Set(query.ids.split(',').map((id) => id.trim())) : undefined
  const selected = rows.filter((row) => !ids || ids.has(row.id))
  if (query.order && query.order !== 'market_cap_desc') selected.sort(order)
  return { payload: selected.slice((page - 1) * perPage, page * perPage) }
}

export function routeCoinpaprika(path: string, query: Record<string, string>, world: World): Routed {
  const quotes = (query.quotes ?? 'USD').split(',').map((q) => q.trim().toUpperCase())
  if (quotes.length > 3) return badRequest('too many quotes, at most 3 are allowed')
  if (quotes.some((q) => q !== 'USD')) return badRequest('invalid quotes: the fake upstream serves USD only')

  if (path === '/tickers') {
    const tickers = coinpaprikaTickers(world, world.coinpaprikaPlan)
    return { payload: world.coinpaprikaPlan === 'free' ? tickers.slice(0, FREE_PLAN_TICKERS) : tickers }
  }
  if (path === '/global') {
    const tickers = coinpaprikaTickers(world, 'paid')
    return { payload: remember(world, 'cp:global', () => coinpaprikaGlobal(tickers, world.snapshot)) }
  }
  if (path === '/coins') return { payload: coinpaprikaCoins(world) }
  const [, historyId] = /^\/tickers\/([^/]+)\/historical$/.exec(path) ?? []
  if (historyId !== undefined) {
    const coin = world.coinpaprikaCoins.find((c) => c.coinpaprika?.id === historyId)
    return coin ? coinpaprikaHistorical(coin, query, world.snapshot, world.coinpaprikaPlan) : idNotFound()
  }
  const [, kind, id] = /^\/(tickers|coins)\/([^/]+)$/.exec(path) ?? []
  if (kind === 'tickers') {
    const ticker = coinpaprikaTickers(world, world.coinpaprikaPlan).find((t) => t.id === id)
    return ticker ? { payload: ticker } : idNotFound()
  }
  if (kind === 'coins') {
    const coin = world.coinpaprikaCoins.find((c) => c.coinpaprika?.id === id)
    return coin ? { payload: coinpaprikaCoin(coin, world.snapshot, cpRank(world, coin)) } : idNotFound()
  }
  return { error: { kind: 'not_found', message: 'not found' } }
}

function coinpaprikaTickers(world: World, plan: CoinpaprikaPlan): CoinpaprikaTicker[] {
  return remember(world, `cp:tickers:${plan}`, () =>
    world.coinpaprikaCoins.map((coin) => coinpaprikaTicker(coin, world.snapshot, plan, cpRank(world, coin))),
  )
}

function coinpaprikaCoins(world: World): object[] {
  return world.coinpaprikaCoins.map((coin) => ({
    id: coin.coinpaprika?.id,
    name: coin.coinpaprika?.name,
    symbol: coin.coinpaprika?.symbol,
    rank: cpRank(world, coin),
    is_new: false,
    is_active: coin.isActive !== false,
    type: coin.contracts?.length ? 'token' : 'coin',
  }))
}

function cpRank(world: World, coin: CatalogueCoin): number {
  return world.coinpaprikaRanks.get(coin) ?? 0
}

function remember<T>(world: World, key: string, build: () => T): T {
  if (!world.memo.has(key)) world.memo.set(key, build())
  return world.memo.get(key) as T
}

function badRequest(message: string): Routed {
  return { error: { kind: 'bad_request', message } }
}

function idNotFound(): Routed {
  return { error: { kind: 'not_found', message: 'id not found' } }
}
