import { SourceHttpError } from '../errors.js'
import { readAmount, readObservedAt, readPrice } from './market-fields.js'
import { readHistoryMeta, type HistoryBatchMeta } from './history.js'
import type { RowRejection, SourceObservation, TransformResult } from './source.js'

/** One point of an upstream's history, its values as found, not yet read. */
export interface HistoryPoint {
  readonly time: unknown
  readonly price: unknown
  /** 0 means unknown. */
  readonly marketCap: unknown
  /** 0 is a real (idle) volume. */
  readonly volume24h: unknown
  /** The point's text, for a rejection. */
  readonly raw: () => string
}

/**
 * Pure: the points of one history window → observations of the batch's asset, each at the
 * upstream's own time for it. A point without a usable time or price is rejected with its
 * position; unknown values become NULL, never 0. History carries no rank, supply or change.
 */
export function observeHistoryPoints(
  source: string,
  meta: Readonly<Record<string, unknown>>,
  points: readonly HistoryPoint[],
): TransformResult {
  const history = historyMetaOf(source, meta)
  const asset = { sourceAssetId: history.asset.id, symbol: history.asset.symbol, name: history.asset.name }
  const observations: SourceObservation[] = []
  const rejections: RowRejection[] = []
  points.forEach((point, index) => {
    const line = index + 1
    const reject = (reasonCode: string, why: string) =>
      rejections.push({
        line,
        reasonCode,
        message: `point ${line} (${asset.sourceAssetId}): ${why}`,
        raw: point.raw(),
      })
    const observedAt = readObservedAt(point.time)
    if (observedAt === undefined)
      return reject('SOURCE_TIMESTAMP_INVALID', `time ${JSON.stringify(point.time)} is not a usable time`)
    const priceUsd = readPrice(point.price)
    if (priceUsd === undefined)
      return reject('SOURCE_PRICE_INVALID', `price ${JSON.stringify(point.price)} is missing or negative`)
    observations.push({
      asset,
      observedAt,
      priceUsd,
      marketCapUsd: readAmount(point.marketCap),
      volume24hUsd: readAmount(point.volume24h, { zeroIsKnown: true }),
      change24hPct: null,
      rank: null,
      circulatingSupply: null,
      totalSupply: null,
      maxSupply: null,
      line,
      raw: null,
    })
  })
  return { observations, rejections }
}

function historyMetaOf(source: string, meta: Readonly<Record<string, unknown>>): HistoryBatchMeta {
  const history = readHistoryMeta(meta)
  if (!history)
    throw new SourceHttpError('SOURCE_BAD_RESPONSE', 'a history batch without its asset in its meta', {
      source,
    })
  return history
}

/** The payload is not the shape this history endpoint answers with: the batch fails, kept raw. */
export function historyShapeError(source: string, expected: string): SourceHttpError {
  return new SourceHttpError('SOURCE_BAD_RESPONSE', `${source} history answered without ${expected}`, {
    source,
  })
}
