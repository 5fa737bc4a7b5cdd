import type { Config } from '../../config.js'
import { readAmount, readCount, readObservedAt, readPrice, readSigned } from '../market-fields.js'
import { checkPayload } from '../payload-schema.js'
import type { RowRejection, SourceObservation, TransformResult } from '../source.js'
import { COINPAPRIKA_TICKER_SCHEMA } from './coinpaprika-payloads.js'

/** Pure: one `/tickers` payload → observations, rejected rows and the schema changes seen. */
export function normalizeCoinPaprikaTickers(
  payload: unknown,
  fieldAliases: Config['sources']['coinpaprika']['fieldAliases'] = {},
): TransformResult {
  const checked = checkPayload(payload, COINPAPRIKA_TICKER_SCHEMA, fieldAliases, (item) => String(item.id))
  const observations: SourceObservation[] = []
  const rejections: RowRejection[] = [...checked.rejections]
  for (const { item, position } of checked.items) {
    const raw = JSON.stringify(item)
    const usd = (item.quotes as { USD: Record<string, unknown> }).USD
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
    const priceUsd = readPrice(usd.price)
    if (priceUsd === undefined) {
      reject('SOURCE_PRICE_INVALID', `quotes.USD.price ${JSON.stringify(usd.price)} is missing or negative`)
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
      // 0 when circulating supply is unknown (upstream-apis.md §1.3): unknown, not zero.
      marketCapUsd: readAmount(usd.market_cap),
      volume24hUsd: readAmount(usd.volume_24h, { zeroIsKnown: true }),
      change24hPct: readSigned(usd.percent_change_24h),
      // 0 for inactive coins.
      rank: readCount(item.rank),
      circulatingSupply: readAmount(item.circulating_supply),
      totalSupply: readAmount(item.total_supply),
      // 0 means no cap or unknown.
      maxSupply: readAmount(item.max_supply),
      line: position,
      raw,
    })
  }
  return { observations, rejections, schemaChanges: checked.changes }
}
