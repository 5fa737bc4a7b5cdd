/**
 * Turns observations of one asset into aligned chart series: time buckets on one x axis, each
 * source's last price in a bucket, and the consensus (median) and spread per bucket, computed the
 * way the API computes them for the latest values. Pure, so it can be reasoned about alone.
 */

export interface Observation {
  source: string
  /** ms since the epoch */
  observedAt: number
  priceUsd: number
}

export interface PriceSeries {
  /** Bucket starts, in seconds (uPlot's time unit). */
  xs: number[]
  bucketMs: number
  sources: string[]
  /** Per source, its last price in each bucket; null where it has none. */
  bySource: (number | null)[][]
  /** Median of each source's latest price as of the bucket, stale ones left out. */
  consensus: (number | null)[]
  /** (max − min) / median × 100 over the same prices; null with fewer than two. */
  spreadPct: (number | null)[]
}

const NICE_BUCKETS_MS = [60, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400].map((s) => s * 1000)

/** The smallest "nice" width that keeps `spanMs` within about `maxBuckets` buckets (a minute at least). */
export function bucketWidthMs(spanMs: number, maxBuckets = 1500): number {
  const wanted = spanMs / maxBuckets
  return NICE_BUCKETS_MS.find((w) => w >= wanted) ?? Math.ceil(wanted / 86_400_000) * 86_400_000
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? null) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/**
 * A source counts in a bucket's consensus with its latest price as of that bucket, unless that
 * price trails the newest one by more than `staleAfterMs` (as ASSET_STALE_AFTER_MS does for the API).
 */
export function buildPriceSeries(
  observations: readonly Observation[],
  options: { bucketMs: number; staleAfterMs: number },
): PriceSeries {
  const { bucketMs, staleAfterMs } = options
  const sorted = [...observations].sort((a, b) => a.observedAt - b.observedAt)
  const sources = [...new Set(sorted.map((o) => o.source))].sort()
  const column = new Map(sources.map((s, i) => [s, i]))
  const xs: number[] = []
  const bySource: (number | null)[][] = sources.map(() => [])
  const consensus: (number | null)[] = []
  const spreadPct: (number | null)[] = []
  const last: ({ price: number; at: number } | undefined)[] = sources.map(() => undefined)

  let i = 0
  while (i < sorted.length) {
    const first = sorted[i]
    if (!first) break
    const bucket = Math.floor(first.observedAt / bucketMs) * bucketMs
    const row: (number | null)[] = sources.map(() => null)
    for (; i < sorted.length; i++) {
      const o = sorted[i]
      if (!o || o.observedAt >= bucket + bucketMs) break
      const c = column.get(o.source) ?? 0
      row[c] = o.priceUsd
      last[c] = { price: o.priceUsd, at: o.observedAt }
    }
    xs.push(bucket / 1000)
    row.forEach((price, c) => bySource[c]?.push(price))
    const newest = Math.max(...last.map((l) => l?.at ?? -Infinity))
    const fresh = last.flatMap((l) => (l && newest - l.at <= staleAfterMs ? [l.price] : []))
    const mid = median(fresh)
    consensus.push(mid)
    spreadPct.push(
      mid === null || fresh.length < 2 || mid === 0
        ? null
        : Math.round(((Math.max(...fresh) - Math.min(...fresh)) / mid) * 100 * 10_000) / 10_000,
    )
  }
  return { xs, bucketMs, sources, bySource, consensus, spreadPct }
}

/** The latest non-null value of `values` at or before `index`, with its index. */
export function lastKnown(
  values: readonly (number | null)[],
  index: number,
): { value: number; index: number } | undefined {
  for (let i = index; i >= 0; i--) {
    const value = values[i]
    if (value !== null && value !== undefined) return { value, index: i }
  }
  return undefined
}
