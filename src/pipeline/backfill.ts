import type { EtlRunRow } from '../db/schema.js'
import { sourceIdsFor } from '../db/repositories/asset-repository.js'
import { BackfillAssetUnknownError, ValidationError } from '../errors.js'
import { parseTimestamp } from '../domain/parse-timestamp.js'
import { historyStream } from '../sources/history.js'
import type { PipelineContext } from './pipeline-context.js'
import { runSource, type RunOptions } from './run-pipeline.js'

/** What a backfill reads: which assets of which source, over which range. */
export interface BackfillRequest {
  readonly source: string
  /** The source's own ids, or canonical asset ids (read as their aliases on the source). */
  readonly assets: readonly string[]
  /** Besides `assets`, the source's first `top` assets by market cap now. */
  readonly top?: number
  /** ISO 8601 (or Unix seconds/ms), inclusive. */
  readonly from: string
  /** Exclusive; now when absent (and never later than now). */
  readonly to?: string
}

/** Most assets one backfill may name or rank; a larger job is several backfills. */
export const MAX_BACKFILL_ASSETS = 1000

/** The sources with a history to backfill from. */
export const BACKFILL_SOURCES = ['coingecko', 'coinpaprika'] as const

/**
 * Checks a backfill before anything starts: the source has a history, some asset is named, the
 * range is real and in the past. Throws `ValidationError` naming the field.
 */
export function checkBackfill(request: BackfillRequest, now: Date): { from: number; to: number } {
  if (!(BACKFILL_SOURCES as readonly string[]).includes(request.source))
    throw new ValidationError(
      'source',
      `source must be one of ${BACKFILL_SOURCES.join(', ')} (a history upstream)`,
    )
  if (request.assets.length === 0 && !request.top)
    throw new ValidationError('assets', 'name at least one asset, or ask for the top N')
  if (request.assets.some((id) => id.trim() === ''))
    throw new ValidationError('assets', 'an asset id is empty')
  if (request.assets.length + (request.top ?? 0) > MAX_BACKFILL_ASSETS)
    throw new ValidationError('assets', `at most ${MAX_BACKFILL_ASSETS} assets per backfill`)
  const from = instant('from', request.from)
  const to = request.to === undefined ? now.getTime() : instant('to', request.to)
  const end = Math.min(to, now.getTime())
  if (from >= end) throw new ValidationError('from', 'from must be before to, and in the past')
  return { from, to: end }
}

/** ISO 8601 (UTC when no zone) or Unix seconds/milliseconds, as the API's time parameters take. */
function instant(field: string, value: string): number {
  const parsed = parseTimestamp(value)
  if (parsed === undefined)
    throw new ValidationError(field, `${field} ${JSON.stringify(value)} is not a date or date-time`)
  return Date.parse(parsed)
}

/**
 * Fills the past of some assets from a source's history: one run with trigger `backfill`, one
 * stream per asset, one raw batch and checkpoint per window (see `historyStream`). It runs beside
 * the source's snapshot runs, at most one backfill per source at a time, and its calls yield the
 * source's outbound limit to theirs. Never throws for an upstream or data problem: the run says how
 * it ended (`partial` with `HISTORY_OUT_OF_RANGE` for windows beyond the plan's reach,
 * `BACKFILL_ASSET_UNKNOWN` when the upstream does not know an id).
 */
export function runBackfill(
  ctx: PipelineContext,
  request: BackfillRequest,
  options: Omit<RunOptions, 'trigger' | 'streams' | 'files'> = {},
): Promise<EtlRunRow> {
  const now = ctx.now?.() ?? new Date()
  const range = checkBackfill(request, now)
  return runSource(ctx, request.source, {
    ...options,
    trigger: 'backfill',
    async streams(source, call) {
      const history = source.history
      if (!history) throw new ValidationError('source', `${source.name} has no history to backfill from`)
      const ids = await sourceIdsFor(ctx.db.kysely, source.name, request.assets)
      const found = await history.findAssets({ ids, top: request.top }, call)
      if (found.unknown.length > 0) throw new BackfillAssetUnknownError(source.name, found.unknown)
      call.log.info(
        {
          assets: found.assets.map((a) => a.sourceAssetId),
          from: new Date(range.from),
          to: new Date(range.to),
        },
        'backfill planned',
      )
      return found.assets.map((asset) => historyStream(history, asset, { ...range, now: now.getTime() }))
    },
  })
}
