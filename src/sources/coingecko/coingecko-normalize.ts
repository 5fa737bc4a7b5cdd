import type { Config } from '../../config.js'
import { observeMarketItems } from '../market-items.js'
import { checkPayload } from '../payload-schema.js'
import type { TransformResult } from '../source.js'
import { COINGECKO_MARKET_SCHEMA } from './coingecko-payloads.js'

/** Pure: one `/coins/markets` page → observations, rejected rows and the schema changes seen. */
export function normalizeCoinGeckoMarkets(
  payload: unknown,
  fieldAliases: Config['sources']['coingecko']['fieldAliases'] = {},
): TransformResult {
  const checked = checkPayload(payload, COINGECKO_MARKET_SCHEMA, fieldAliases, (item) => String(item.id))
  return observeMarketItems(checked, (item) => ({
    id: item.id,
    symbol: item.symbol,
    name: item.name,
    lastUpdated: item.last_updated,
    price: item.current_price,
    priceField: 'current_price',
    marketCap: item.market_cap,
    volume24h: item.total_volume,
    // The percentage; CoinGecko's market_cap_change_24h is an amount in USD.
    change24hPct: item.price_change_percentage_24h,
    rank: item.market_cap_rank,
    circulatingSupply: item.circulating_supply,
    totalSupply: item.total_supply,
    // null for uncapped coins.
    maxSupply: item.max_supply,
  }))
}
