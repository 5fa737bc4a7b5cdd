export const CANDLE_INTERVALS = ['5m', '1h', '1d', '1w'] as const
export type CandleInterval = (typeof CANDLE_INTERVALS)[number]

const DAY_S = 86_400

/**
 * Each interval's width, and where its buckets start, in Unix seconds: every bucket starts at
 * `offsetS + k × widthS`, in UTC; weeks on Mondays (1970-01-05), as ISO 8601 has them.
 */
export const CANDLE_BUCKETS: Readonly<Record<CandleInterval, { widthS: number; offsetS: number }>> = {
  '5m': { widthS: 300, offsetS: 0 },
  '1h': { widthS: 3_600, offsetS: 0 },
  '1d': { widthS: DAY_S, offsetS: 0 },
  '1w': { widthS: 7 * DAY_S, offsetS: 4 * DAY_S },
}

/** The start of the first bucket at or after `ms` (Unix milliseconds). */
export function bucketStartAtOrAfter(interval: CandleInterval, ms: number): number {
  const { widthS, offsetS } = CANDLE_BUCKETS[interval]
  const width = widthS * 1000
  const offset = offsetS * 1000
  return Math.ceil((ms - offset) / width) * width + offset
}

/** The starts (Unix milliseconds) of the buckets that start in `[fromMs, toMs)`. */
export function bucketStarts(interval: CandleInterval, fromMs: number, toMs: number): number[] {
  const width = CANDLE_BUCKETS[interval].widthS * 1000
  const starts: number[] = []
  for (let at = bucketStartAtOrAfter(interval, fromMs); at < toMs; at += width) starts.push(at)
  return starts
}

/** How many buckets start in `[fromMs, toMs)`, without listing them. */
export function countBuckets(interval: CandleInterval, fromMs: number, toMs: number): number {
  const width = CANDLE_BUCKETS[interval].widthS * 1000
  const first = bucketStartAtOrAfter(interval, fromMs)
  return toMs <= first ? 0 : Math.ceil((toMs - first) / width)
}
