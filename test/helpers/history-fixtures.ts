import { expect } from 'vitest'
import type { HistoryBatchMeta, HistoryWindow } from '../../src/sources/history.js'
import type { UpstreamClient } from '../../src/sources/http/upstream-client.js'

export const HOUR = 3_600_000
export const DAY = 24 * HOUR
export const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
/** Where a Demo or free plan stops: 365 days back, kept an hour off the edge. */
export const REACH_FROM = NOW - 365 * DAY + HOUR
/** Where the 5-minute window starts: ten minutes inside the last day. */
export const INTRADAY_FROM = NOW - DAY + 10 * 60_000

/** A client the planners hold but never call. */
export const unusedClient: UpstreamClient = {
  getJson: () => Promise.reject(new Error('the planner called the network')),
  close: () => Promise.resolve(),
}
export const upstream = {
  baseUrl: 'http://upstream.test',
  rateLimit: { points: 1, windowMs: 1000 },
  fieldAliases: {},
}

/** The windows tile `[from, to)` exactly: newest first, each ending where the next newer one starts. */
export function expectTiling(windows: readonly HistoryWindow[], from: number, to: number): void {
  expect(windows.length).toBeGreaterThan(0)
  expect(windows[0]!.to).toBe(to)
  expect(windows[windows.length - 1]!.from).toBe(from)
  for (const [i, window] of windows.entries()) {
    expect(window.from).toBeLessThan(window.to)
    if (i > 0) expect(window.to).toBe(windows[i - 1]!.from)
  }
}

export const spans = (windows: readonly HistoryWindow[], step: string) =>
  windows.filter((w) => w.step === step).map((w) => w.to - w.from)

const meta: HistoryBatchMeta = {
  kind: 'history',
  path: '/coins/bitcoin/market_chart/range',
  asset: { id: 'bitcoin', symbol: 'BTC', name: 'Bitcoin' },
  from: '2026-11-01T00:00:00.000Z',
  to: '2026-11-02T00:00:00.000Z',
  step: '1h',
  fetched_at: '2026-11-25T12:00:00.000Z',
}
/** A history batch's meta as a normalizer receives it: bitcoin, one hourly day. */
export const metaRecord = meta as unknown as Record<string, unknown>
