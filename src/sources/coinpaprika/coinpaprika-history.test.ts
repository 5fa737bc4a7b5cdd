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
import { HISTORY_STEPS } from '../history.js'
import { coinPaprikaHistory, normalizeCoinPaprikaHistory } from './coinpaprika-history.js'

const coinPaprika = (apiKey?: string) =>
  coinPaprikaHistory(unusedClient, { ...upstream, apiKey } satisfies Config['sources']['coinpaprika'])

describe('coinPaprikaHistory(…).planWindows', () => {
  it('without a key: a day of 5-minute points, then daily ones cut at the year’s edge', () => {
    const from = NOW - 400 * DAY
    const windows = coinPaprika().planWindows(from, NOW, NOW)
    expectTiling(windows, from, NOW)
    expect(windows.map((w) => [w.step, w.from, w.to, w.beyondReach])).toEqual([
      ['5m', INTRADAY_FROM, NOW, false],
      ['1d', REACH_FROM, INTRADAY_FROM, false],
      ['1d', from, REACH_FROM, true],
    ])
  })

  it('without a key: daily windows hold at most 5,000 points', () => {
    const from = NOW - 12_000 * DAY
    const windows = coinPaprika().planWindows(from, NOW, NOW)
    expectTiling(windows, from, NOW)
    for (const window of windows)
      expect((window.to - window.from) / HISTORY_STEPS[window.step]).toBeLessThanOrEqual(
        window.step === '5m' ? 288 : 5000,
      )
    expect(spans(windows, '1d')).toContain(5000 * DAY)
  })

  it('with a key: hourly windows of at most 5,000 points and no reach edge', () => {
    const from = NOW - 400 * DAY
    const windows = coinPaprika('paid-key').planWindows(from, NOW, NOW)
    expectTiling(windows, from, NOW)
    expect(windows[0]).toMatchObject({ step: '5m', from: INTRADAY_FROM })
    expect(windows.slice(1).every((w) => w.step === '1h')).toBe(true)
    expect(Math.max(...spans(windows, '1h'))).toBe(5000 * HOUR)
    expect(windows.some((w) => w.beyondReach)).toBe(false)
    expect(windows.map((w) => w.from)).not.toContain(REACH_FROM)
  })
})

describe('normalizeCoinPaprikaHistory', () => {
  const paprikaMeta = { ...metaRecord, asset: { id: 'btc-bitcoin', symbol: 'BTC', name: 'Bitcoin' } }

  it('maps each point at its own timestamp, a market cap of 0 unknown and a volume of 0 kept', () => {
    const { observations, rejections } = normalizeCoinPaprikaHistory(
      [
        { timestamp: '2026-11-01T00:00:00Z', price: 91000.5, volume_24h: 4.2e10, market_cap: 1.8e12 },
        { timestamp: '2026-11-02T00:00:00Z', price: 0.01, volume_24h: 0, market_cap: 0 },
      ],
      paprikaMeta,
    )
    expect(rejections).toEqual([])
    expect(observations).toEqual([
      expect.objectContaining({
        asset: { sourceAssetId: 'btc-bitcoin', symbol: 'BTC', name: 'Bitcoin' },
        observedAt: '2026-11-01T00:00:00.000Z',
        priceUsd: 91000.5,
        marketCapUsd: 1.8e12,
        volume24hUsd: 4.2e10,
        line: 1,
      }),
      expect.objectContaining({
        observedAt: '2026-11-02T00:00:00.000Z',
        marketCapUsd: null,
        volume24hUsd: 0,
      }),
    ])
  })

  it('rejects a point without a usable price or time, naming its position', () => {
    const { observations, rejections } = normalizeCoinPaprikaHistory(
      [
        { timestamp: '2026-11-01T00:00:00Z', price: 1 },
        { timestamp: 'yesterday', price: 1 },
        { timestamp: '2026-11-01T02:00:00Z', price: 'n/a' },
        42,
      ],
      paprikaMeta,
    )
    expect(observations.map((o) => o.line)).toEqual([1])
    expect(rejections.map((r) => [r.line, r.reasonCode])).toEqual([
      [2, 'SOURCE_TIMESTAMP_INVALID'],
      [3, 'SOURCE_PRICE_INVALID'],
      [4, 'SOURCE_TIMESTAMP_INVALID'],
    ])
    expect(rejections[1]!.raw).toBe(JSON.stringify({ timestamp: '2026-11-01T02:00:00Z', price: 'n/a' }))
  })

  it('throws on a payload that is not an array', () => {
    for (const payload of [null, {}, { error: 'x' }, 'text'])
      expect(() => normalizeCoinPaprikaHistory(payload, paprikaMeta)).toThrow(
        expect.objectContaining({ code: 'SOURCE_BAD_RESPONSE' }),
      )
  })
})
