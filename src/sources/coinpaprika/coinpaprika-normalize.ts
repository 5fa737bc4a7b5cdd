import type { Config } from '../../config.js'
import { observeMarketItems } from '../market-items.js'
import { checkPayload } from '../payload-schema.js'
import type { TransformResult } from '../source.js'
import { COINPAPRIKA_TICKER_SCHEMA } from './coinpaprika-payloads.js'

/** Pure: one `/tickers` payload → observations, rejected rows and the schema changes seen. */
export function normalizeCoinPaprikaTickers(
  payload: unknown,
  fieldAliases: Config['sources']['coinpaprika']['fieldAliases'] = {},
): TransformResult {
  const checked = checkPayload(payload, COINPAPRIKA_TICKER_SCHEMA, fieldAliases, (item) => String(item.id))
  return observeMarketItems(checked, (item) => {
    const usd = (item.quotes as { USD: Record<string, unknown> }).USD
    return {
      id: item.id,
      symbol: item.symbol,
      name: item.name,
      lastUpdated: item.last_updated,
      price: usd.price,
      priceField: 'quotes.USD.price',
      // 0 when circulating supply is unknown (upstream-apis.md §1.3).
      marketCap: usd.market_cap,
      volume24h: usd.volume_24h,
      // percent_change_24h; market_cap_change_24h is the market cap's own change.
      change24hPct: usd.percent_change_24h,
      // 0 for inactive coins.
      rank: item.rank,
      // Absent on the free plan.
      circulatingSupply: item.circulating_supply,
      totalSupply: item.total_supply,
      // 0 means no cap, or unknown.
      maxSupply: item.max_supply,
    }
  })
}
