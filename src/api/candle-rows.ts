import type { Db } from '../db/database.js'
import { findAsset } from '../db/repositories/asset-repository.js'
import { findRemapTargets } from '../db/repositories/asset-query-repository.js'
import { consensusHourJson, sourceCandles } from '../db/repositories/candle-repository.js'
import {
  bucketStartAtOrAfter,
  bucketStarts,
  CANDLE_BUCKETS,
  countBuckets,
  type CandleInterval,
} from '../domain/candle-buckets.js'
import { candleItem, consensusCandles, type CandleItem } from '../domain/candles.js'
import { AssetNotFoundError, ValidationError } from '../errors.js'
import { parseTimeParam } from './time-param.js'

const DAY_MS = 86_400_000

export const DEFAULT_CANDLE_INTERVAL: CandleInterval = '1h'

/** Without `from`, the span before `to` a chart of the interval usually shows. */
export const DEFAULT_CANDLE_SPAN_MS: Readonly<Record<CandleInterval, number>> = {
  '5m': DAY_MS,
  '1h': 30 * DAY_MS,
  '1d': 365 * DAY_MS,
  '1w': 104 * 7 * DAY_MS,
}

/** At most this many buckets in one answer: a year of 5-minute candles would be 105,120. */
export const MAX_CANDLE_BUCKETS = 50_000

/** A candles request, validated, with its defaults applied. */
export interface CandleRequest {
  readonly assetId: string
  readonly interval: CandleInterval
  /** The buckets listed are those that start in `[from, to)`; ISO 8601 UTC. */
  readonly from: string
  readonly to: string
  /** One source's candles; the consensus of every source when absent. */
  readonly source: string | undefined
  /** `null`: every bucket is listed, an empty one with nulls; absent: empty buckets are left out. */
  readonly fill: 'null' | undefined
}

export type { CandleItem } from '../domain/candles.js'

/** The query string of `GET /api/v1/assets/{id}/candles`, as its schema let it through. */
export interface CandleQueryString {
  readonly interval?: CandleInterval
  readonly from?: string
  readonly to?: string
  readonly source?: string
  readonly fill?: 'null'
}

/**
 * The request the query string asks for, with `to` defaulting to now and `from` to `to` minus the
 * interval's default span; a 400 naming the field when `from` is not before `to` or the range holds
 * more than `MAX_CANDLE_BUCKETS` buckets.
 */
export function parseCandleRequest(
  assetId: string,
  query: CandleQueryString,
  nowMs: number,
  /** A CSV answer streams page by page: no cap beyond the range asked for. */
  { capped = true }: { capped?: boolean } = {},
): CandleRequest {
  const interval = query.interval ?? DEFAULT_CANDLE_INTERVAL
  const to = query.to === undefined ? new Date(nowMs).toISOString() : parseTimeParam('to', query.to)
  const from =
    query.from === undefined
      ? new Date(Date.parse(to) - DEFAULT_CANDLE_SPAN_MS[interval]).toISOString()
      : parseTimeParam('from', query.from)
  const fromMs = Date.parse(from)
  const toMs = Date.parse(to)
  if (fromMs >= toMs) {
    const field = query.to === undefined ? 'from' : 'to'
    throw new ValidationError(field, `from (${from}) must be before to (${to})`)
  }
  const buckets = countBuckets(interval, fromMs, toMs)
  if (capped && buckets > MAX_CANDLE_BUCKETS)
    throw new ValidationError(
      'from',
      `from ${from} to ${to} spans ${buckets.toLocaleString('en-US')} buckets of ${interval}; at most ` +
        `${MAX_CANDLE_BUCKETS.toLocaleString('en-US')} in one answer: page by time or pick a wider interval`,
    )
  return { assetId, interval, from, to, source: query.source, fill: query.fill }
}

/**
 * The candles of a request, oldest first: one source's, or the consensus (the median across sources
 * per bucket); with `fill=null` every bucket, an empty one with nulls. Throws `AssetNotFoundError`
 * for an unknown asset. Each candle covers its whole bucket, even one that ends after `to`.
 */
export async function getCandleRows(db: Db, request: CandleRequest): Promise<CandleItem[]> {
  const query = await candleQuery(db, request)
  if (!query) return []
  const items =
    request.source !== undefined
      ? ((await sourceCandles(db, query)).get(request.source) ?? []).map((c) => candleItem(c, request.source))
      : request.interval === '1h'
        ? (JSON.parse(await consensusHourJson(db, query)) as CandleItem[])
        : consensusCandles(await sourceCandles(db, query)).map((c) => candleItem(c, undefined))
  return request.fill === 'null'
    ? fillBuckets(items, request.interval, Date.parse(query.from), Date.parse(query.to))
    : items
}

/**
 * `getCandleRows` as the JSON of its array. The hourly consensus without `fill` (a chart's usual
 * question) is the rollup's items as stored, joined by the database, never read into objects and
 * printed again.
 */
export async function getCandleJson(db: Db, request: CandleRequest): Promise<string> {
  if (request.source !== undefined || request.interval !== '1h' || request.fill === 'null')
    return JSON.stringify(await getCandleRows(db, request))
  const query = await candleQuery(db, request)
  return query ? consensusHourJson(db, query) : '[]'
}

/**
 * The whole buckets a request covers, as a query of the repository: observations from the first
 * bucket's start to the end of the last one; `undefined` when no bucket starts in the range. Throws
 * `AssetNotFoundError` for an unknown asset.
 */
async function candleQuery(db: Db, request: CandleRequest) {
  const asset = await findAsset(db.kysely, request.assetId)
  if (!asset)
    throw new AssetNotFoundError(request.assetId, await findRemapTargets(db.kysely, request.assetId))
  const { interval } = request
  const firstMs = bucketStartAtOrAfter(interval, Date.parse(request.from))
  const endMs = bucketStartAtOrAfter(interval, Date.parse(request.to))
  if (endMs <= firstMs) return undefined
  return {
    assetId: request.assetId,
    interval,
    from: new Date(firstMs).toISOString(),
    to: new Date(endMs).toISOString(),
    source: request.source,
  }
}

/**
 * The candles of a request of any length, oldest first, a page of at most `MAX_CANDLE_BUCKETS`
 * buckets at a time (each page one query), for a streamed answer: memory holds one page. The asset
 * is checked before the first page, so an unknown one is still a 404.
 */
export async function* candlePages(db: Db, request: CandleRequest): AsyncGenerator<CandleItem[]> {
  const { interval } = request
  const pageMs = MAX_CANDLE_BUCKETS * CANDLE_BUCKETS[interval].widthS * 1000
  const endMs = Date.parse(request.to)
  let fromMs = Date.parse(request.from)
  while (fromMs < endMs) {
    const next = Math.min(endMs, bucketStartAtOrAfter(interval, fromMs) + pageMs)
    yield await getCandleRows(db, {
      ...request,
      from: new Date(fromMs).toISOString(),
      to: new Date(next).toISOString(),
    })
    fromMs = next
  }
}

/** Every bucket from `firstMs` to `endMs`: the observed ones as they are, the others empty. */
function fillBuckets(
  items: CandleItem[],
  interval: CandleInterval,
  firstMs: number,
  endMs: number,
): CandleItem[] {
  const observed = new Map(items.map((item) => [item.bucket, item]))
  return bucketStarts(interval, firstMs, endMs).map((ms) => {
    const bucket = new Date(ms).toISOString()
    return observed.get(bucket) ?? emptyBucket(bucket)
  })
}

const emptyBucket = (bucket: string): CandleItem => ({
  bucket,
  open: null,
  high: null,
  low: null,
  close: null,
  market_cap_usd: null,
  volume_24h_usd: null,
  points: 0,
  sources: [],
})
