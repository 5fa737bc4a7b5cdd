import { describe, expect, it } from 'vitest'
import { bucketWidthMs, buildPriceSeries, median, type Observation } from './price-series.js'

const MIN = 60_000
const at = (minutes: number) => Date.UTC(2026, 11, 1) + minutes * MIN

describe('buildPriceSeries', () => {
  it('aligns sources on buckets, keeps each one’s last price per bucket, and takes the median of the fresh ones', () => {
    const observations: Observation[] = [
      { source: 'coingecko', observedAt: at(0), priceUsd: 100 },
      { source: 'coinpaprika', observedAt: at(0.5), priceUsd: 104 },
      { source: 'csv', observedAt: at(0.2), priceUsd: 90 },
      { source: 'coingecko', observedAt: at(10), priceUsd: 110 },
      { source: 'coingecko', observedAt: at(10.5), priceUsd: 112 },
      // csv says nothing more: two hours on, it is stale and left out.
      { source: 'coinpaprika', observedAt: at(130), priceUsd: 120 },
      { source: 'coingecko', observedAt: at(130.2), priceUsd: 118 },
    ]
    const series = buildPriceSeries(observations, { bucketMs: MIN, staleAfterMs: 60 * MIN })

    expect(series.sources).toEqual(['coingecko', 'coinpaprika', 'csv'])
    expect(series.xs).toEqual([at(0) / 1000, at(10) / 1000, at(130) / 1000])
    expect(series.bySource).toEqual([
      [100, 112, 118],
      [104, null, 120],
      [90, null, null],
    ])
    // Bucket 1: 90, 100, 104. Bucket 2: latest as of then, 112 (coingecko), 104, 90. Bucket 3: csv stale.
    expect(series.consensus).toEqual([100, 104, 119])
    expect(series.spreadPct).toEqual([14, 21.1538, 1.6807])
  })

  it('has no spread with one fresh price', () => {
    const series = buildPriceSeries([{ source: 'manual', observedAt: at(0), priceUsd: 5 }], {
      bucketMs: MIN,
      staleAfterMs: MIN,
    })
    expect([series.consensus, series.spreadPct]).toEqual([[5], [null]])
  })
})

describe('bucketWidthMs and median', () => {
  it('picks the smallest round width that keeps a span under the bucket count', () => {
    expect(bucketWidthMs(60 * MIN)).toBe(MIN)
    expect(bucketWidthMs(7 * 24 * 60 * MIN)).toBe(10 * MIN)
    expect(bucketWidthMs(30 * 24 * 60 * MIN)).toBe(30 * MIN)
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBeNull()
  })
})
