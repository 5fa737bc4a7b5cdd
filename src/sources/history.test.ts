import { describe, expect, it } from 'vitest'
import { DAY, HOUR, INTRADAY_FROM, NOW, upstream } from '../../test/helpers/history-fixtures.js'
import { SourceHttpError } from '../errors.js'
import { createLogger } from '../logger.js'
import { coinPaprikaHistory } from './coinpaprika/coinpaprika-history.js'
import {
  cover,
  cutWindows,
  historyStream,
  HISTORY_OUT_OF_RANGE,
  uncovered,
  type HistoryWindow,
  type SourceHistory,
} from './history.js'
import type { UpstreamClient, UpstreamResponse } from './http/upstream-client.js'
import type { ExtractedBatch, SourceAssetRef, StreamCursor } from './source.js'

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
