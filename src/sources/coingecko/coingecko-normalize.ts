import type { Config } from '../../config.js'
import { checkPayload } from '../payload-schema.js'
import type { RowRejection, SourceObservation, TransformResult } from '../source.js'
import { readAmount, readCount, readObservedAt, readPrice, readSigned } from '../market-fields.js'
import { COINGECKO_MARKET_SCHEMA } from './coingecko-payloads.js'

/** Pure: one `/coins/markets` page → observations, rejected rows and the schema changes seen. */
export function normalizeCoinGeckoMarkets(
  payload: unknown,
  fieldAliases: Config['sources']['coingecko']['fieldAliases'] = {},
): TransformResult {
  const checked = checkPayload(payload, COINGECKO_MARKET_SCHEMA, fieldAliases, (item) => String(item.id))
  const observations: SourceObservation[] = []
  const rejections: RowRejection[] = [...checked.rejections]
  for (const { item, position } of checked.items) {
    const raw = JSON.stringify(item)
    const reject = (reasonCode: string, why: string) =>
      rejections.push({
        line: position,
        reasonCode,
        message: `item ${position} (${String(item.id)}): ${why}`,
        raw,
      })
    const observedAt = readObservedAt(item.last_updated)
    if (observedAt === undefined) {
      reject(
        'SOURCE_TIMESTAMP_INVALID',
        `last_updated ${JSON.stringify(item.last_updated)} is not a usable time`,
      )
      continue
    }
    const priceUsd = readPrice(item.current_price)
    if (priceUsd === undefined) {
      reject(
        'SOURCE_PRICE_INVALID',
        `current_price ${JSON.stringify(item.current_price)} is missing or negative`,
      )
      continue
    }
    observations.push({
      asset: {
        sourceAssetId: String(item.id),
        symbol: String(item.symbol).trim().toUpperCase(),
        name: String(item.name).trim() || null,
      },
      observedAt,
      priceUsd,
      marketCapUsd: readAmount(item.market_cap),
      volume24hUsd: readAmount(item.total_volume, { zeroIsKnown: true }),
      // The percentage; CoinGecko's market_cap_change_24h is an amount in USD.
      change24hPct: readSigned(item.price_change_percentage_24h),
      rank: readCount(item.market_cap_rank),
      circulatingSupply: readAmount(item.circulating_supply),
      totalSupply: readAmount(item.total_supply),
      maxSupply: readAmount(item.max_supply),
      line: position,
      raw,
    })
  }
  return { observations, rejections, schemaChanges: checked.changes }
}
