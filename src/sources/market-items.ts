import { readAmount, readCount, readObservedAt, readPrice, readSigned } from './market-fields.js'
import type { CheckedPayload } from './payload-schema.js'
import { LocatedObservation, type RowLocator } from './located-observation.js'
import type { RowRejection, SourceObservation, TransformResult } from './source.js'

/** Where one live-source item keeps each market field; the values as found, not yet read. */
export interface MarketItemFields {
  readonly id: unknown
  readonly symbol: unknown
  readonly name: unknown
  readonly lastUpdated: unknown
  readonly price: unknown
  /** The price's path in the item, for a rejection message. */
  readonly priceField: string
  /** 0 means unknown. */
  readonly marketCap: unknown
  /** 0 is a real (idle) volume. */
  readonly volume24h: unknown
  readonly change24hPct: unknown
  readonly rank: unknown
  readonly circulatingSupply: unknown
  readonly totalSupply: unknown
  readonly maxSupply: unknown
}

/**
 * Pure: checked items → observations keyed by the upstream's own `last_updated`. An item without
 * a usable time or price is rejected with its position; unknown values become NULL, never 0.
 */
export function observeMarketItems(
  checked: CheckedPayload,
  fieldsOf: (item: Record<string, unknown>) => MarketItemFields,
): TransformResult {
  const observations: SourceObservation[] = []
  const rejections: RowRejection[] = [...checked.rejections]
  // An item's text is written out of the parsed item only when asked for (a conflict).
  const items: RowLocator = {
    lineOf: (i) => checked.items[i]!.position,
    rawOf: (i) => JSON.stringify(checked.items[i]!.item),
  }
  for (let index = 0; index < checked.items.length; index++) {
    const { item, position } = checked.items[index]!
    const fields = fieldsOf(item)
    const reject = (reasonCode: string, why: string) =>
      rejections.push({
        line: position,
        reasonCode,
        message: `item ${position} (${String(fields.id)}): ${why}`,
        raw: JSON.stringify(item),
      })
    const observedAt = readObservedAt(fields.lastUpdated)
    if (observedAt === undefined) {
      reject(
        'SOURCE_TIMESTAMP_INVALID',
        `last_updated ${JSON.stringify(fields.lastUpdated)} is not a usable time`,
      )
      continue
    }
    const priceUsd = readPrice(fields.price)
    if (priceUsd === undefined) {
      reject(
        'SOURCE_PRICE_INVALID',
        `${fields.priceField} ${JSON.stringify(fields.price)} is missing or negative`,
      )
      continue
    }
    observations.push(
      new LocatedObservation(
        {
          sourceAssetId: String(fields.id),
          symbol: String(fields.symbol).trim().toUpperCase(),
          name: String(fields.name).trim() || null,
        },
        observedAt,
        priceUsd,
        readAmount(fields.marketCap),
        readAmount(fields.volume24h, { zeroIsKnown: true }),
        readSigned(fields.change24hPct),
        readCount(fields.rank),
        readAmount(fields.circulatingSupply),
        readAmount(fields.totalSupply),
        readAmount(fields.maxSupply),
        items,
        index,
      ),
    )
  }
  return { observations, rejections, schemaChanges: checked.changes }
}
