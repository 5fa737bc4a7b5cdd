import { describe, expect, it } from 'vitest'
import type { Config } from '../config.js'
import { SourceHttpError } from '../errors.js'
import { createLogger } from '../logger.js'
import { coinGeckoHistory, normalizeCoinGeckoChart } from './coingecko/coingecko-history.js'
import { coinPaprikaHistory, normalizeCoinPaprikaHistory } from './coinpaprika/coinpaprika-history.js'
import {
  cover,
  cutWindows,
  historyStream,
  HISTORY_OUT_OF_RANGE,
  HISTORY_STEPS,
  uncovered,
  type HistoryBatchMeta,
  type HistoryWindow,
  type SourceHistory,
} from './history.js'
import type { UpstreamClient, UpstreamResponse } from './http/upstream-client.js'
import type { ExtractedBatch, SourceAssetRef, StreamCursor } from './source.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0)
/** Where a Demo or free plan stops: 365 days back, kept an hour off the edge. */
const REACH_FROM = NOW - 365 * DAY + HOUR
/** Where the 5-minute window starts: ten minutes inside the last day. */
const INTRADAY_FROM = NOW - DAY + 10 * 60_000

/** A client the planners hold but never call. */
const unusedClient: UpstreamClient = {
  getJson: () => Promise.reject(new Error('the planner called the network')),
  close: () => Promise.resolve(),
}
const upstream = {
  baseUrl: 'http://upstream.test',
  rateLimit: { points: 1, windowMs: 1000 },
  fieldAliases: {},
}
const coinGecko = (plan: 'demo' | 'pro') =>
  coinGeckoHistory(unusedClient, {
    ...upstream,
    apiKey: plan === 'pro' ? 'CG-test' : undefined,
    plan,
    perPage: 250,
    maxPages: 1,
  } satisfies Config['sources']['coingecko'])
const coinPaprika = (apiKey?: string) =>
  coinPaprikaHistory(unusedClient, { ...upstream, apiKey } satisfies Config['sources']['coinpaprika'])

/** The windows tile `[from, to)` exactly: newest first, each ending where the next newer one starts. */
function expectTiling(windows: readonly HistoryWindow[], from: number, to: number): void {
  expect(windows.length).toBeGreaterThan(0)
  expect(windows[0]!.to).toBe(to)
  expect(windows[windows.length - 1]!.from).toBe(from)
  for (const [i, window] of windows.entries()) {
    expect(window.from).toBeLessThan(window.to)
    if (i > 0) expect(window.to).toBe(windows[i - 1]!.from)
  }
}

const spans = (windows: readonly HistoryWindow[], step: string) =>
  windows.filter((w) => w.step === step).map((w) => w.to - w.from)

describe('cutWindows', () => {
  it('cuts newest first into windows of at most the span, the oldest one short', () => {
    const windows = cutWindows(0, 25 * HOUR, 10 * HOUR, '1h', undefined)
    expect(windows.map((w) => [w.from, w.to])).toEqual([
      [15 * HOUR, 25 * HOUR],
      [5 * HOUR, 15 * HOUR],
      [0, 5 * HOUR],
    ])
    expect(windows.every((w) => w.step === '1h' && !w.beyondReach)).toBe(true)
  })

  it('cuts at the reach edge and flags only the windows beyond it', () => {
    const windows = cutWindows(0, 25 * HOUR, 10 * HOUR, '1d', 12 * HOUR)
    expect(windows.map((w) => [w.from, w.to, w.beyondReach])).toEqual([
      [15 * HOUR, 25 * HOUR, false],
      [12 * HOUR, 15 * HOUR, false],
      [2 * HOUR, 12 * HOUR, true],
      [0, 2 * HOUR, true],
    ])
  })

  it('gives nothing for an empty range', () => {
    expect(cutWindows(5, 5, 10, '5m', undefined)).toEqual([])
  })
})

describe('uncovered', () => {
  it('is the whole range when nothing is covered', () => {
    expect(uncovered(0, 100, [])).toEqual([[0, 100]])
  })

  it('leaves out covered parts that overlap the range, inside it or across its ends', () => {
    expect(
      uncovered(10, 100, [
        [0, 20],
        [40, 50],
        [90, 120],
      ]),
    ).toEqual([
      [20, 40],
      [50, 90],
    ])
  })

  it('ignores covered parts that only touch the range or lie outside it', () => {
    expect(
      uncovered(10, 100, [
        [0, 10],
        [100, 200],
      ]),
    ).toEqual([[10, 100]])
  })

  it('is nothing when the range is covered, in one part or adjacent ones', () => {
    expect(uncovered(10, 100, [[0, 100]])).toEqual([])
    expect(
      uncovered(10, 100, [
        [10, 50],
        [50, 100],
      ]),
    ).toEqual([])
  })
})

describe('cover', () => {
  it('adds a disjoint interval in order', () => {
    expect(
      cover(
        [
          [0, 10],
          [50, 60],
        ],
        [20, 30],
      ),
    ).toEqual([
      [0, 10],
      [20, 30],
      [50, 60],
    ])
  })

  it('merges an interval with the neighbours it touches or overlaps', () => {
    expect(cover([[0, 10]], [10, 20])).toEqual([[0, 20]])
    expect(
      cover(
        [
          [0, 10],
          [20, 30],
          [40, 50],
        ],
        [5, 45],
      ),
    ).toEqual([[0, 50]])
    expect(cover([[0, 100]], [20, 30])).toEqual([[0, 100]])
  })

  it('starts a coverage from nothing', () => {
    expect(cover([], [1, 2])).toEqual([[1, 2]])
  })
})

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

const meta: HistoryBatchMeta = {
  kind: 'history',
  path: '/coins/bitcoin/market_chart/range',
  asset: { id: 'bitcoin', symbol: 'BTC', name: 'Bitcoin' },
  from: '2026-11-01T00:00:00.000Z',
  to: '2026-11-02T00:00:00.000Z',
  step: '1h',
  fetched_at: '2026-11-25T12:00:00.000Z',
}
const metaRecord = meta as unknown as Record<string, unknown>
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

describe('historyStream', () => {
  const asset: SourceAssetRef = { sourceAssetId: 'bitcoin', symbol: 'BTC', name: 'Bitcoin' }
  const range = { from: NOW - 5 * DAY, to: NOW, now: NOW }
  const log = createLogger('silent')

  /** A history of daily windows that answers `answer(window)` and remembers every call. */
  function fakeHistory(answer: (window: HistoryWindow) => unknown = () => ({ prices: [[1, 1]] })) {
    const calls: HistoryWindow[] = []
    const history: SourceHistory = {
      findAssets: () => Promise.reject(new Error('not used')),
      planWindows: (from, to) => cutWindows(from, to, DAY, '1h', undefined),
      // A throw in the executor rejects: `answer` throwing is the upstream failing.
      fetchWindow: (_asset, window) =>
        new Promise<UpstreamResponse>((resolve) => {
          calls.push(window)
          const json = answer(window)
          resolve({ body: JSON.stringify(json), json, status: 200, attempts: 1 })
        }),
      pathOf: (a) => `/coins/${a.sourceAssetId}/market_chart/range`,
    }
    return { history, calls }
  }

  async function extractAll(
    history: SourceHistory,
    cursor?: StreamCursor,
    signal = new AbortController().signal,
    over = range,
  ) {
    const batches: ExtractedBatch[] = []
    const shortfalls: { code: string; message: string }[] = []
    const stream = historyStream(history, asset, over)
    let error: unknown
    try {
      for await (const batch of stream.extract(cursor, { signal, log, shortfall: (s) => shortfalls.push(s) }))
        batches.push(batch)
    } catch (caught) {
      error = caught
    }
    return { stream, batches, shortfalls, error }
  }

  const beyondReach = () =>
    new SourceHttpError('SOURCE_AUTH_FAILED', 'coingecko answered HTTP 401', {
      source: 'coingecko',
      status: 401,
      upstreamCode: '10012',
    })

  it('reads every window newest first, each batch carrying the coverage so far and its window in its meta', async () => {
    const { history, calls } = fakeHistory(() => ({
      prices: [
        [1, 1],
        [2, 2],
      ],
    }))
    const { stream, batches, error } = await extractAll(history)
    expect(error).toBeUndefined()
    expect(stream.name).toBe('history:bitcoin')
    expect(calls.map((w) => w.from)).toEqual([4, 3, 2, 1, 0].map((d) => range.from + d * DAY))
    expect(batches[0]!.cursorAfter).toEqual({ covered: [[NOW - DAY, NOW]] })
    expect(batches[4]!.cursorAfter).toEqual({ covered: [[range.from, NOW]] })
    expect(batches[0]!.meta).toMatchObject({
      kind: 'history',
      path: '/coins/bitcoin/market_chart/range',
      asset: { id: 'bitcoin', symbol: 'BTC', name: 'Bitcoin' },
      from: new Date(NOW - DAY).toISOString(),
      to: new Date(NOW).toISOString(),
      step: '1h',
    })
    expect(batches.every((b) => b.rowCount === 2)).toBe(true)
    expect(stream.fractionDone?.(batches[1]!.cursorAfter)).toBeCloseTo(0.4)
  })

  it('resumes from its cursor: asks only for the windows not covered yet, and keeps the old coverage', async () => {
    const { history, calls } = fakeHistory()
    const covered = [
      [NOW - 2 * DAY, NOW],
      [NOW - 10 * DAY, NOW - 4 * DAY],
    ]
    const { batches } = await extractAll(history, { covered })
    expect(calls.map((w) => [w.from, w.to])).toEqual([
      [NOW - 3 * DAY, NOW - 2 * DAY],
      [NOW - 4 * DAY, NOW - 3 * DAY],
    ])
    expect(batches.map((b) => b.cursorAfter)).toEqual([
      {
        covered: [
          [NOW - 10 * DAY, NOW - 4 * DAY],
          [NOW - 3 * DAY, NOW],
        ],
      },
      { covered: [[NOW - 10 * DAY, NOW]] },
    ])
  })

  it('asks for nothing when the cursor covers the range', async () => {
    const { history, calls } = fakeHistory()
    const { batches } = await extractAll(history, { covered: [[range.from - DAY, NOW + DAY]] })
    expect(calls).toEqual([])
    expect(batches).toEqual([])
  })

  it('on a refusal as beyond the plan’s reach (10012), reports the range left and asks for no older window', async () => {
    const refusedFrom = NOW - 3 * DAY
    const { history, calls } = fakeHistory((window) => {
      if (window.from === refusedFrom) throw beyondReach()
      return { prices: [] }
    })
    const { batches, shortfalls, error } = await extractAll(history)
    expect(error).toBeUndefined()
    expect(calls.map((w) => w.from)).toEqual([NOW - DAY, NOW - 2 * DAY, refusedFrom])
    expect(batches).toHaveLength(2)
    expect(shortfalls).toHaveLength(1)
    expect(shortfalls[0]!.code).toBe(HISTORY_OUT_OF_RANGE)
    expect(shortfalls[0]!.message).toContain(
      `bitcoin: ${new Date(range.from).toISOString()} to ${new Date(NOW - 2 * DAY).toISOString()} is beyond`,
    )
    expect(shortfalls[0]!.message).toContain('upstream error 10012')
  })

  it('on a refusal at a fine step, still reads the windows at a coarser step, which reach further', async () => {
    // CoinPaprika's free plan: 5-minute points for the last day only, daily ones for the year. An
    // upstream clock a little ahead of ours (or a backfill minutes into its assets) puts the start of
    // the 5-minute window just beyond that day: refused, while the year of daily points is not.
    const asked: Record<string, string>[] = []
    const client: UpstreamClient = {
      getJson(_path, query) {
        asked.push({ ...query })
        if (query.interval === '5m') return Promise.reject(beyondReach())
        return Promise.resolve({ body: '[]', json: [], status: 200, attempts: 1 })
      },
      close: () => Promise.resolve(),
    }
    const paprika = coinPaprikaHistory(client, { ...upstream, apiKey: undefined })
    const { batches, shortfalls, error } = await extractAll(paprika, undefined, undefined, {
      from: NOW - 30 * DAY,
      to: NOW,
      now: NOW,
    })
    expect(error).toBeUndefined()
    expect(asked.map((q) => q.interval)).toEqual(['5m', '1d'])
    expect(batches.map((b) => b.cursorAfter)).toEqual([{ covered: [[NOW - 30 * DAY, INTRADAY_FROM]] }])
    expect(shortfalls).toHaveLength(1)
    expect(shortfalls[0]!.message).toContain(
      `bitcoin: ${new Date(INTRADAY_FROM).toISOString()} to ${new Date(NOW).toISOString()} is beyond`,
    )
  })

  it('rethrows any other upstream error, after the windows already read', async () => {
    const unavailable = new SourceHttpError('SOURCE_UNAVAILABLE', 'coingecko answered HTTP 503', {
      source: 'coingecko',
      status: 503,
    })
    const refusedKey = new SourceHttpError('SOURCE_AUTH_FAILED', 'coingecko answered HTTP 401', {
      source: 'coingecko',
      status: 401,
      upstreamCode: '10002',
    })
    for (const failure of [unavailable, refusedKey, new Error('bug')]) {
      const { history, calls } = fakeHistory((window) => {
        if (window.from === NOW - 2 * DAY) throw failure
        return { prices: [] }
      })
      const { batches, shortfalls, error } = await extractAll(history)
      expect(error).toBe(failure)
      expect(calls).toHaveLength(2)
      expect(batches).toHaveLength(1)
      expect(shortfalls).toEqual([])
    }
  })

  it('skips a window within one second, which the upstreams’ whole seconds cannot ask for', async () => {
    const { history, calls } = fakeHistory()
    // Left uncovered: [NOW - 400 ms, NOW), no whole second; and [NOW - DAY - 1400 ms, NOW - DAY - 900 ms), which holds one.
    const covered = [
      [range.from, NOW - DAY - 1400],
      [NOW - DAY - 900, NOW - 400],
    ]
    const { batches } = await extractAll(history, { covered })
    expect(calls.map((w) => [w.from, w.to])).toEqual([[NOW - DAY - 1400, NOW - DAY - 900]])
    expect(batches).toHaveLength(1)
  })

  it('stops before the next window once aborted', async () => {
    const abort = new AbortController()
    const { history, calls } = fakeHistory(() => {
      abort.abort()
      return { prices: [] }
    })
    const { batches, error } = await extractAll(history, undefined, abort.signal)
    expect(error).toBeUndefined()
    expect(calls).toHaveLength(1)
    expect(batches).toHaveLength(1)
  })
})
