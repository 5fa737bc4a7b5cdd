/** One source's latest observation of an asset, as the consensus weighs it. */
export interface SourceQuote {
  readonly source: string
  /** ISO 8601 UTC. */
  readonly observedAt: string
  readonly priceUsd: number | null
}

export interface PriceConsensus {
  /** Sources whose latest observation trails the asset's newest one by more than the allowed lag, sorted. */
  readonly staleSources: readonly string[]
  /** Median of the fresh sources' prices; null when no fresh source has a price. */
  readonly consensusPriceUsd: number | null
  /** (max − min) / median × 100 over the same prices, 4 decimals; null with fewer than 2 or a median of 0. */
  readonly spreadPct: number | null
}

/**
 * What the sources agree an asset is worth. A source is stale when its latest observation is more
 * than `staleAfterMs` older than the newest observation of any source of the asset: measured against
 * the asset's own newest data, not our clock, so history imported from files still has a consensus.
 */
export function priceConsensus(quotes: readonly SourceQuote[], staleAfterMs: number): PriceConsensus {
  const times = quotes.map((q) => Date.parse(q.observedAt))
  const newest = Math.max(...times)
  const staleSources: string[] = []
  const prices: number[] = []
  quotes.forEach((quote, i) => {
    if (newest - times[i]! > staleAfterMs) staleSources.push(quote.source)
    else if (quote.priceUsd !== null) prices.push(quote.priceUsd)
  })
  prices.sort((a, b) => a - b)
  const median = medianOfSorted(prices)
  const spreadPct =
    median === null || prices.length < 2 || median === 0
      ? null
      : round4(((prices.at(-1)! - prices[0]!) / median) * 100)
  return { staleSources: staleSources.sort(), consensusPriceUsd: median, spreadPct }
}

/** The median of `values` in any order; null for none. */
export function median(values: readonly number[]): number | null {
  return medianOfSorted([...values].sort((a, b) => a - b))
}

function medianOfSorted(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const middle = Math.floor(values.length / 2)
  return values.length % 2 === 1 ? values[middle]! : (values[middle - 1]! + values[middle]!) / 2
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000
}
