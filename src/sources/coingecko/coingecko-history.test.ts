import { describe, expect, it } from 'vitest'
import {
  DAY,
  expectTiling,
  HOUR,
  INTRADAY_FROM,
  metaRecord,
  NOW,
  REACH_FROM,
  spans,
  unusedClient,
  upstream,
} from '../../../test/helpers/history-fixtures.js'
import type { Config } from '../../config.js'
import { SourceHttpError } from '../../errors.js'
import { coinGeckoHistory, normalizeCoinGeckoChart } from './coingecko-history.js'

const coinGecko = (plan: 'demo' | 'pro') =>
  coinGeckoHistory(unusedClient, {
    ...upstream,
    apiKey: plan === 'pro' ? 'CG-test' : undefined,
    plan,
    perPage: 250,
    maxPages: 1,
  } satisfies Config['sources']['coingecko'])

describe('coinGeckoHistory(…).planWindows', () => {
  it('asks for a day of 5-minute points, then hourly windows of at most 90 days', () => {
    const from = NOW - 200 * DAY
    const windows = coinGecko('pro').planWindows(from, NOW, NOW)
    expectTiling(windows, from, NOW)
    expect(windows.map((w) => w.step)).toEqual(['5m', '1h', '1h', '1h'])
    expect(windows[0]).toMatchObject({ from: INTRADAY_FROM, to: NOW })
    expect(Math.max(...spans(windows, '1h'))).toBe(90 * DAY)
  })

  it('on the Demo plan, cuts at the year’s edge (less an hour) and flags what lies beyond', () => {
    const from = NOW - 400 * DAY
    const windows = coinGecko('demo').planWindows(from, NOW, NOW)
    expectTiling(windows, from, NOW)
    expect(windows.map((w) => w.from)).toContain(REACH_FROM)
    for (const window of windows) {
      expect(window.beyondReach).toBe(window.to <= REACH_FROM)
      expect(window.to - window.from).toBeLessThanOrEqual(window.step === '5m' ? DAY : 90 * DAY)
    }
    expect(windows.filter((w) => w.beyondReach).map((w) => [w.from, w.to])).toEqual([[from, REACH_FROM]])
  })

  it('on the Pro plan, reaches as far back as asked without a cut at the year', () => {
    const from = NOW - 400 * DAY
    const windows = coinGecko('pro').planWindows(from, NOW, NOW)
    expectTiling(windows, from, NOW)
    expect(windows.some((w) => w.beyondReach)).toBe(false)
    expect(windows.map((w) => w.from)).not.toContain(REACH_FROM)
  })

  it('plans hourly windows only for a range that ends before the last day', () => {
    const windows = coinGecko('demo').planWindows(NOW - 30 * DAY, NOW - 2 * DAY, NOW)
    expect(windows).toEqual([{ from: NOW - 30 * DAY, to: NOW - 2 * DAY, step: '1h', beyondReach: false }])
  })

  it('plans 5-minute windows only for a range within the last day', () => {
    const windows = coinGecko('demo').planWindows(NOW - 3 * HOUR, NOW, NOW)
    expect(windows).toEqual([{ from: NOW - 3 * HOUR, to: NOW, step: '5m', beyondReach: false }])
  })
})

const T0 = Date.UTC(2026, 10, 1)

describe('normalizeCoinGeckoChart', () => {
  it('joins prices, market caps and volumes on their times, in the prices’ order', () => {
    const { observations, rejections } = normalizeCoinGeckoChart(
      {
        prices: [
          [T0, 91000.5],
          [T0 + HOUR, 91100.25],
        ],
        market_caps: [
          [T0 + HOUR, 1.81e12],
          [T0, 1.8e12],
        ],
        total_volumes: [
          [T0, 4.2e10],
          [T0 + HOUR, 4.3e10],
        ],
      },
      metaRecord,
    )
    expect(rejections).toEqual([])
    expect(observations).toEqual([
      expect.objectContaining({
        asset: { sourceAssetId: 'bitcoin', symbol: 'BTC', name: 'Bitcoin' },
        observedAt: '2026-11-01T00:00:00.000Z',
        priceUsd: 91000.5,
        marketCapUsd: 1.8e12,
        volume24hUsd: 4.2e10,
        rank: null,
        change24hPct: null,
        line: 1,
      }),
      expect.objectContaining({
        observedAt: '2026-11-01T01:00:00.000Z',
        priceUsd: 91100.25,
        marketCapUsd: 1.81e12,
        volume24hUsd: 4.3e10,
        line: 2,
      }),
    ])
  })

  it('reads a market cap of 0 as unknown but keeps a volume of 0, and a missing one as unknown', () => {
    const { observations } = normalizeCoinGeckoChart(
      { prices: [[T0, 0.5]], market_caps: [[T0, 0]], total_volumes: [[T0, 0]] },
      metaRecord,
    )
    expect(observations[0]).toMatchObject({ marketCapUsd: null, volume24hUsd: 0 })
    const [alone] = normalizeCoinGeckoChart({ prices: [[T0, 0.5]] }, metaRecord).observations
    expect(alone).toMatchObject({ priceUsd: 0.5, marketCapUsd: null, volume24hUsd: null })
  })

  it('rejects a point without a usable price or time, naming its position', () => {
    const { observations, rejections } = normalizeCoinGeckoChart(
      { prices: [[T0, 1], [T0 + HOUR, -2], [T0 + 2 * HOUR, null], ['soon', 3], 'garbage'] },
      metaRecord,
    )
    expect(observations.map((o) => o.line)).toEqual([1])
    expect(rejections.map((r) => [r.line, r.reasonCode])).toEqual([
      [2, 'SOURCE_PRICE_INVALID'],
      [3, 'SOURCE_PRICE_INVALID'],
      [4, 'SOURCE_TIMESTAMP_INVALID'],
      [5, 'SOURCE_TIMESTAMP_INVALID'],
    ])
    expect(rejections[0]!.message).toContain('point 2 (bitcoin)')
    expect(rejections[0]!.raw).toBe(JSON.stringify([T0 + HOUR, -2, undefined, undefined]))
  })

  it('throws on a payload without a prices array', () => {
    for (const payload of [null, [], { prices: 'none' }, { market_caps: [] }])
      expect(() => normalizeCoinGeckoChart(payload, metaRecord)).toThrow(
        expect.objectContaining({ code: 'SOURCE_BAD_RESPONSE' }),
      )
  })

  it('throws when the batch’s meta lost its asset', () => {
    expect(() => normalizeCoinGeckoChart({ prices: [] }, { kind: 'history' })).toThrow(SourceHttpError)
  })
})
