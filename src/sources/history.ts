import { SourceHttpError } from '../errors.js'
import type { UpstreamResponse } from './http/upstream-client.js'
import type { ExtractContext, ExtractedBatch, SourceAssetRef, Stream, StreamCursor } from './source.js'

/**
 * A source's history: the past of chosen assets, read window by window, each window a raw batch
 * with its own checkpoint. The live sources implement the three upstream-specific parts (which
 * assets, which windows, one window's call); `historyStream` does the rest for all of them.
 */
export interface SourceHistory {
  /** The assets asked for, as the upstream names them, in the order asked; `unknown` lists ids it does not know. */
  findAssets(selection: AssetSelection, context: CallContext): Promise<FoundAssets>
  /**
   * The windows that cover `[from, to)` (ms) at the finest granularity the upstream gives for each
   * part, seen at `now`, newest first.
   */
  planWindows(from: number, to: number, now: number): HistoryWindow[]
  /** Reads one window of one asset. Throws `SourceHttpError` as every upstream call does. */
  fetchWindow(asset: SourceAssetRef, window: HistoryWindow, context: CallContext): Promise<UpstreamResponse>
  /** The path a window of `asset` is read from, for the stored batch's meta. */
  pathOf(asset: SourceAssetRef): string
}

export interface AssetSelection {
  /** The source's own ids (`bitcoin`, `btc-bitcoin`). */
  readonly ids: readonly string[]
  /** Besides `ids`, the first `top` assets by market cap now. */
  readonly top?: number
}

export interface FoundAssets {
  readonly assets: readonly SourceAssetRef[]
  readonly unknown: readonly string[]
}

export type CallContext = Pick<ExtractContext, 'signal' | 'log'>

/** `[from, to)` in ms, read at one step. */
export interface HistoryWindow {
  readonly from: number
  readonly to: number
  /** The points' spacing the upstream answers with for this window, e.g. `5m`, `1h`, `1d`. */
  readonly step: HistoryStep
  /** Beyond the reach documented for the configured plan: the upstream is expected to refuse it. */
  readonly beyondReach: boolean
}

export const HISTORY_STEPS = { '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 } as const
export type HistoryStep = keyof typeof HISTORY_STEPS

/** A stored history batch's `meta`: enough for the transform (and a replay) to read it alone. */
export interface HistoryBatchMeta {
  readonly kind: 'history'
  readonly path: string
  readonly asset: { readonly id: string; readonly symbol: string; readonly name: string | null }
  readonly from: string
  readonly to: string
  readonly step: HistoryStep
  readonly fetched_at: string
}

/** One history stream per asset: `history:<source asset id>`. */
export const HISTORY_STREAM_PREFIX = 'history:'

export function isHistoryStream(stream: string): boolean {
  return stream.startsWith(HISTORY_STREAM_PREFIX)
}

/** The code a run ends `partial` with when the upstream refuses a range beyond the plan's reach. */
export const HISTORY_OUT_OF_RANGE = 'HISTORY_OUT_OF_RANGE'

/** `[from, to)` pairs in ms, sorted and disjoint. */
export type Coverage = readonly (readonly [number, number])[]

/** A history stream's checkpoint: every window it has loaded, merged. */
interface HistoryCursor {
  readonly covered: Coverage
}

export interface HistoryRange {
  readonly from: number
  readonly to: number
  /** Our clock when the backfill started: what "the last day" and "the last year" count from. */
  readonly now: number
}

/**
 * The stream of one asset's history over `range`. Its checkpoint is what it has covered, so a
 * killed backfill resumes with the first window it had not committed, and a repeated one asks for
 * nothing it already holds (only the gaps, such as the time since the last backfill). Windows go
 * newest first; when the upstream refuses one as beyond the plan's reach (`error_code` 10012),
 * the older ones at its step would be refused too: the stream reports the range it could not read
 * at that step (the run ends `partial` with `HISTORY_OUT_OF_RANGE`) and asks for none of them,
 * without retrying. A plan reaches further at a coarser step (CoinPaprika's free plan: a day of
 * 5-minute points, a year of daily ones), so the windows at other steps are still read.
 */
export function historyStream(history: SourceHistory, asset: SourceAssetRef, range: HistoryRange): Stream {
  return {
    name: `${HISTORY_STREAM_PREFIX}${asset.sourceAssetId}`,
    async *extract(cursor, context): AsyncGenerator<ExtractedBatch> {
      let covered = coverageOf(cursor)
      const windows = uncovered(range.from, range.to, covered)
        .flatMap(([from, to]) => history.planWindows(from, to, range.now))
        // The upstreams take whole seconds: a window within one second asks for nothing.
        .filter((window) => Math.ceil(window.to / 1000) - 1 >= Math.ceil(window.from / 1000))
        .sort((a, b) => b.from - a.from)
      const refusedSteps = new Set<HistoryStep>()
      for (const window of windows) {
        if (context.signal.aborted) return
        if (refusedSteps.has(window.step)) continue
        let response: UpstreamResponse
        try {
          response = await history.fetchWindow(asset, window, context)
        } catch (error) {
          if (context.signal.aborted) return
          if (!isBeyondReach(error)) throw error
          refusedSteps.add(window.step)
          const oldest = windows.filter((w) => w.step === window.step).at(-1)?.from ?? window.from
          context.shortfall?.({
            code: HISTORY_OUT_OF_RANGE,
            message:
              `${asset.sourceAssetId}: ${iso(oldest)} to ${iso(window.to)} is beyond the plan's history ` +
              `(upstream error ${error.details.upstreamCode ?? '?'}: ${error.message})`,
          })
          continue
        }
        covered = cover(covered, [window.from, window.to])
        const meta: HistoryBatchMeta = {
          kind: 'history',
          path: history.pathOf(asset),
          asset: { id: asset.sourceAssetId, symbol: asset.symbol, name: asset.name },
          from: iso(window.from),
          to: iso(window.to),
          step: window.step,
          fetched_at: new Date().toISOString(),
        }
        yield {
          payload: response.body,
          meta: meta as unknown as Readonly<Record<string, unknown>>,
          rowCount: pointCount(response.json),
          cursorAfter: { covered } satisfies HistoryCursor,
          parsed: response.json,
        }
      }
    },
    fractionDone(cursor) {
      const total = range.to - range.from
      if (total <= 0) return undefined
      const inRange = coverageOf(cursor).reduce(
        (sum, [from, to]) => sum + Math.max(0, Math.min(to, range.to) - Math.max(from, range.from)),
        0,
      )
      return Math.min(1, inRange / total)
    },
  }
}

/**
 * Cuts `[from, to)` into windows of at most `spanMs`, newest first, ending at `to`; a window that
 * would straddle `reachFrom` is cut there, so the part the plan reaches is never lost with the
 * part it does not.
 */
export function cutWindows(
  from: number,
  to: number,
  spanMs: number,
  step: HistoryStep,
  reachFrom: number | undefined,
): HistoryWindow[] {
  const windows: HistoryWindow[] = []
  let end = to
  while (end > from) {
    let start = Math.max(from, end - spanMs)
    if (reachFrom !== undefined && start < reachFrom && end > reachFrom) start = reachFrom
    windows.push({ from: start, to: end, step, beyondReach: reachFrom !== undefined && end <= reachFrom })
    end = start
  }
  return windows
}

/** The parts of `[from, to)` not in `covered`. */
export function uncovered(from: number, to: number, covered: Coverage): [number, number][] {
  const gaps: [number, number][] = []
  let at = from
  for (const [start, end] of covered) {
    if (end <= at) continue
    if (start >= to) break
    if (start > at) gaps.push([at, start])
    at = Math.max(at, end)
  }
  if (at < to) gaps.push([at, to])
  return gaps
}

/** `covered` with `[from, to)` added, merged with its neighbours. */
export function cover(covered: Coverage, [from, to]: readonly [number, number]): Coverage {
  const merged: [number, number][] = []
  let next: [number, number] = [from, to]
  for (const [start, end] of covered) {
    if (end < next[0]) merged.push([start, end])
    else if (start > next[1]) {
      merged.push(next)
      next = [start, end]
    } else next = [Math.min(start, next[0]), Math.max(end, next[1])]
  }
  merged.push(next)
  return merged
}

function coverageOf(cursor: StreamCursor | undefined): Coverage {
  const covered = cursor?.covered
  if (!Array.isArray(covered)) return []
  return covered
    .filter(
      (pair): pair is [number, number] =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        Number.isFinite(pair[0]) &&
        Number.isFinite(pair[1]) &&
        (pair[0] as number) < (pair[1] as number),
    )
    .sort((a, b) => a[0] - b[0])
    .reduce<Coverage>((all, pair) => cover(all, pair), [])
}

/** 10012: "Your request exceeds the allowed time range", a 401 in an extra `error` wrapper. */
function isBeyondReach(error: unknown): error is SourceHttpError {
  return error instanceof SourceHttpError && error.details.upstreamCode === '10012'
}

function pointCount(json: unknown): number {
  if (Array.isArray(json)) return json.length
  const prices = (json as { prices?: unknown } | null)?.prices
  return Array.isArray(prices) ? prices.length : 0
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/**
 * Reads a stored history batch's meta back (for the transform and replays); undefined when the
 * batch is not a history batch or its meta lost a field.
 */
export function readHistoryMeta(meta: Readonly<Record<string, unknown>>): HistoryBatchMeta | undefined {
  const asset = meta.asset as HistoryBatchMeta['asset'] | undefined
  if (meta.kind !== 'history' || typeof asset?.id !== 'string' || typeof asset.symbol !== 'string')
    return undefined
  return meta as unknown as HistoryBatchMeta
}
