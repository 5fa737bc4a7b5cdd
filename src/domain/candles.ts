import { CANDLE_BUCKETS, type CandleInterval } from './candle-buckets.js'
import { median } from './price-consensus.js'

/** One bucket of one source, or of the consensus. Buckets without an observed price are absent. */
export interface Candle {
  /** The bucket's start, ISO 8601 UTC. */
  readonly bucket: string
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  /** The bucket's last market cap (a level, not a flow). */
  readonly marketCapUsd: number | null
  /** The bucket's last 24-hour volume: a rolling 24 h sum already, so summing it again would count hours many times. */
  readonly volume24hUsd: number | null
  /** Observations with a price in the bucket. */
  readonly points: number
}

/** An hour (or a 5-minute bucket) of one source's candles: a row of the rollup or of the records. */
export interface HourCandle {
  readonly source: string
  readonly hourS: number
  readonly open: number
  readonly high: number
  readonly low: number
  readonly close: number
  readonly cap: number | null
  readonly volume: number | null
  readonly points: number
}

/**
 * Hours, ordered by source and time, folded into the interval's buckets per source. Hours already
 * are the buckets of `1h` (and `5m` rows of `5m`): each becomes one candle.
 */
export function foldHours(hours: readonly HourCandle[], interval: CandleInterval): Map<string, Candle[]> {
  const { widthS, offsetS } = CANDLE_BUCKETS[interval]
  const bySource = new Map<string, Candle[]>()
  let candles: Candle[] = []
  let current: { -readonly [K in keyof Candle]: Candle[K] } | undefined
  let currentS = NaN
  let source: string | undefined
  for (const h of hours) {
    const bucketS = Math.floor((h.hourS - offsetS) / widthS) * widthS + offsetS
    if (h.source !== source) {
      source = h.source
      candles = []
      bySource.set(source, candles)
      current = undefined
    }
    if (current && bucketS === currentS) {
      if (h.high > current.high) current.high = h.high
      if (h.low < current.low) current.low = h.low
      current.close = h.close
      current.marketCapUsd = h.cap
      current.volume24hUsd = h.volume
      current.points += h.points
      continue
    }
    currentS = bucketS
    current = {
      bucket: new Date(bucketS * 1000).toISOString(),
      open: h.open,
      high: h.high,
      low: h.low,
      close: h.close,
      marketCapUsd: h.cap,
      volume24hUsd: h.volume,
      points: h.points,
    }
    candles.push(current)
  }
  return bySource
}

/** A bucket of the consensus, with the sources that observed it. */
export interface ConsensusCandle extends Candle {
  /** The sources with a candle in the bucket, by name. */
  readonly sources: readonly string[]
}

/**
 * The consensus of per-source candles: per bucket, the median across the sources that observed it of
 * each value, and every source's points. A bucket no source observed stays absent.
 */
export function consensusCandles(bySource: ReadonlyMap<string, readonly Candle[]>): ConsensusCandle[] {
  // Each source's candles are in time order: a merge walks them side by side, a bucket at a time.
  const sources = [...bySource.keys()].sort()
  const lists = sources.map((source) => bySource.get(source)!)
  const next = lists.map(() => 0)
  const out: ConsensusCandle[] = []
  const here: Candle[] = []
  const from: string[] = []
  for (;;) {
    let bucket: string | undefined
    for (let k = 0; k < lists.length; k++) {
      const candle = lists[k]![next[k]!]
      if (candle && (bucket === undefined || candle.bucket < bucket)) bucket = candle.bucket
    }
    if (bucket === undefined) return out
    here.length = 0
    from.length = 0
    for (let k = 0; k < lists.length; k++) {
      const candle = lists[k]![next[k]!]
      if (candle?.bucket !== bucket) continue
      here.push(candle)
      from.push(sources[k]!)
      next[k]!++
    }
    out.push(consensusOf(bucket, here, from))
  }
}

/** One bucket's consensus: the median of each value across the candles that observed it. */
function consensusOf(
  bucket: string,
  candles: readonly Candle[],
  sources: readonly string[],
): ConsensusCandle {
  if (candles.length === 1) return { ...candles[0]!, sources: [sources[0]!] }
  const medianOf = (pick: (c: Candle) => number | null) => {
    const values: number[] = []
    for (const c of candles) {
      const v = pick(c)
      if (v !== null) values.push(v)
    }
    return median(values)
  }
  let points = 0
  for (const c of candles) points += c.points
  return {
    bucket,
    open: medianOf((c) => c.open)!,
    high: medianOf((c) => c.high)!,
    low: medianOf((c) => c.low)!,
    close: medianOf((c) => c.close)!,
    marketCapUsd: medianOf((c) => c.marketCapUsd),
    volume24hUsd: medianOf((c) => c.volume24hUsd),
    points,
    sources: [...sources],
  }
}

/** A candle as the API answers it (snake_case), or an empty bucket under `fill=null`. */
export interface CandleItem {
  bucket: string
  open: number | null
  high: number | null
  low: number | null
  close: number | null
  market_cap_usd: number | null
  volume_24h_usd: number | null
  points: number
  sources: string[]
}

/** A source's candle (`source`) or the consensus' (`undefined`) as the API answers it. */
export function candleItem(candle: Candle | ConsensusCandle, source: string | undefined): CandleItem {
  return {
    bucket: candle.bucket,
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
    market_cap_usd: candle.marketCapUsd,
    volume_24h_usd: candle.volume24hUsd,
    points: candle.points,
    sources: 'sources' in candle ? [...candle.sources] : source === undefined ? [] : [source],
  }
}
