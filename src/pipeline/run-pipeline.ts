import { isDatabaseUnreachable } from '../db/connection-error.js'
import { findCheckpoint } from '../db/repositories/checkpoint-repository.js'
import { recordRunEnd, runFailureCode } from './run-end.js'
import { markBatchFailed } from '../db/repositories/raw-batch-repository.js'
import { finishRun, insertRun, type RunCounts } from '../db/repositories/run-repository.js'
import type { EtlRunRow } from '../db/schema.js'
import type { RunStatus, RunTrigger } from '../domain/run.js'
import { AppError, errorCode, errorMessage, RunAlreadyRunningError, SourceHttpError } from '../errors.js'
import { limitHeapGrowth } from '../heap-growth.js'
import { refreshContractEvidence } from '../identity/contract-evidence.js'
import { assetCacheOf } from '../identity/resolve-assets.js'
import type { ExtractContext, Source, Stream, StreamCursor } from '../sources/source.js'
import { storeRawBatch } from './extract.js'
import { loadBatch, skipFailedBatch } from './load.js'
import { nowIso, RUN_OWNER, type PipelineContext } from './pipeline-context.js'
import { recoverInterruptedRuns } from './recover-runs.js'
import { inRunSpan } from './run-span.js'
import { inSpanEach } from '../telemetry/tracing.js'
import { prepareBatch } from './transform.js'

/** The run's counts so far (over every stream), after each committed batch. */
export interface RunProgress extends RunCounts {
  readonly stream: string
  /** How far through `stream`, 0–1, when the stream knows its size. */
  readonly fraction?: number
}

export interface RunOptions {
  readonly trigger: RunTrigger
  /** Who asked for the run (`key:…`, `jwt:…`, `cli`), stored with it; absent for the schedule. */
  readonly startedBy?: string | null
  /** CSV only: these files instead of the configured ones. */
  readonly files?: readonly string[]
  /** Aborting stops after the batch in flight has committed. */
  readonly signal?: AbortSignal
  readonly onProgress?: (progress: RunProgress) => void
  /** Called once the run row exists, before any work. */
  readonly onStarted?: (run: EtlRunRow) => void
  /**
   * The streams to run in place of the source's own: a backfill's history streams. Throwing ends
   * the run `failed` with the error's code.
   */
  readonly streams?: (
    source: Source,
    context: Pick<ExtractContext, 'signal' | 'log'>,
  ) => Promise<readonly Stream[]>
}

/**
 * Runs one source end to end: every stream from its checkpoint, batch by batch, raw first, each
 * batch committed with its checkpoint. Never throws for a data or upstream problem: the run row
 * says how it ended. Throws only when the run cannot start (`RunAlreadyRunningError`) or the
 * database itself is gone.
 */
export function runSource(ctx: PipelineContext, sourceName: string, options: RunOptions): Promise<EtlRunRow> {
  return inRunSpan(
    { source: sourceName, trigger: options.trigger },
    () => executeRun(ctx, sourceName, options),
    (run) => run,
  )
}

async function executeRun(ctx: PipelineContext, sourceName: string, options: RunOptions): Promise<EtlRunRow> {
  const source = await ctx.sources.get(sourceName)
  limitHeapGrowth()
  const startedMs = Date.now()
  const run = await startRun(ctx, source.name, options.trigger, options.startedBy ?? null)
  // Log correlation ids are snake_case, like the API's `request_id`: every line of the run carries them.
  const log = ctx.log.child({ run_id: run.id, source: source.name })
  log.info({ trigger: options.trigger }, 'run started')
  options.onStarted?.(run)

  const signal = options.signal ?? new AbortController().signal
  const before: Record<string, StreamCursor | null> = {}
  const checkpoints: Record<string, StreamCursor | null> = {}
  const totals = { batches: 0, extracted: 0, loaded: 0, unchanged: 0, rejected: 0 }
  const shortfalls: Shortfall[] = []
  let failedBatches = 0
  let failure: unknown
  try {
    const streams = options.streams
      ? await options.streams(source, { signal, log })
      : await source.streams({ files: options.files })
    for (const stream of streams) {
      if (signal.aborted) break
      failedBatches += await runStream(
        ctx,
        source,
        stream,
        run.id,
        { before, checkpoints },
        { signal, shortfall: (shortfall) => shortfalls.push(shortfall) },
        options.onProgress,
        totals,
      )
    }
    // A backfill reads history only; the contract evidence is the snapshot runs' to refresh.
    if (!signal.aborted && !options.streams)
      await refreshContractEvidence(ctx, source, { runId: run.id, signal, log })
  } catch (error) {
    failure = error
  }

  // An upstream that stops answering after some batches committed (a spent rate limit, an outage)
  // leaves a partial run: its checkpoint is kept and the next run carries on from there.
  const resumable =
    failure instanceof SourceHttpError &&
    failure.retryable &&
    Object.keys(checkpoints).some((s) => JSON.stringify(checkpoints[s]) !== JSON.stringify(before[s]))
  const status: Exclude<RunStatus, 'running'> = failure
    ? resumable
      ? 'partial'
      : 'failed'
    : failedBatches > 0 || signal.aborted || shortfalls.length > 0
      ? 'partial'
      : 'succeeded'
  const [code, message] = failure
    ? [runFailureCode(failure), errorMessage(failure)]
    : shortfalls.length > 0
      ? shortfallOutcome(shortfalls)
      : failedBatches > 0
        ? [
            'BATCH_FAILED',
            `${failedBatches} batch(es) failed to transform; their raw payloads are kept for replay`,
          ]
        : signal.aborted
          ? ['RUN_CANCELLED', 'stopped on request after the batch in flight committed']
          : [null, null]
  // A lost database is an outage, not a bug: no stack trace for it.
  if (failure && isDatabaseUnreachable(failure))
    log.error({ error: errorMessage(failure) }, 'run stopped: the database is unreachable')
  else if (failure && !(failure instanceof AppError))
    log.error({ err: failure }, 'run crashed on an unexpected error')
  const end = {
    status,
    finishedAt: nowIso(ctx),
    durationMs: Date.now() - startedMs,
    errorCode: code,
    errorMessage: message,
    checkpointBefore: JSON.stringify(before),
    checkpointAfter: JSON.stringify(checkpoints),
  }
  const finished = await recordRunEnd(log, () => finishRun(ctx.db.kysely, run.id, end))
  ctx.metrics?.observeRun(finished)
  log[status === 'failed' ? 'error' : status === 'partial' ? 'warn' : 'info'](
    {
      status,
      loaded: finished.loaded,
      unchanged: finished.unchanged,
      rejected: finished.rejected,
      durationMs: finished.durationMs,
      errorCode: code,
    },
    'run finished',
  )
  return finished
}

type Shortfall = Parameters<NonNullable<ExtractContext['shortfall']>>[0]

/** The run's code is the first shortfall's; its message names a few of them and counts the rest. */
function shortfallOutcome(shortfalls: readonly Shortfall[]): [string, string] {
  const shown = shortfalls.slice(0, 3).map((s) => s.message)
  const more = shortfalls.length - shown.length
  return [shortfalls[0]!.code, `${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`]
}

async function startRun(
  ctx: PipelineContext,
  source: string,
  trigger: RunTrigger,
  startedBy: string | null,
): Promise<EtlRunRow> {
  const start = () =>
    insertRun(ctx.db.kysely, {
      source,
      trigger,
      owner: RUN_OWNER,
      startedAt: nowIso(ctx),
      checkpointBefore: null,
      startedBy,
    })
  try {
    return await start()
  } catch (error) {
    // The run in the way may belong to a process that died: clear it and try once more.
    if (!(error instanceof RunAlreadyRunningError) || (await recoverInterruptedRuns(ctx)) === 0) throw error
    return start()
  }
}

/** Returns how many batches failed to transform (kept raw for replay; the stream moves on). */
async function runStream(
  ctx: PipelineContext,
  source: Source,
  stream: Stream,
  runId: number,
  { before, checkpoints }: Record<'before' | 'checkpoints', Record<string, StreamCursor | null>>,
  { signal, shortfall }: Pick<ExtractContext, 'signal' | 'shortfall'>,
  onProgress: RunOptions['onProgress'],
  /** The run's counts, added to as batches commit. */
  totals: Record<keyof RunCounts, number>,
): Promise<number> {
  const log = ctx.log.child({ run_id: runId, source: source.name, stream: stream.name })
  let cursor = (await findCheckpoint(ctx.db.kysely, source.name, stream.name)) ?? null
  checkpoints[stream.name] = cursor === null ? null : (JSON.parse(cursor) as StreamCursor)
  before[stream.name] = checkpoints[stream.name] ?? null
  const cache = assetCacheOf(ctx.db, source.name)
  let failed = 0
  // One batch loads while the next is read and transformed; loads still commit strictly in order.
  let inFlight: Promise<void> | undefined
  const settle = async () => {
    const loading = inFlight
    inFlight = undefined
    await loading
  }
  try {
    const batches = inSpanEach(
      stream.extract(checkpoints[stream.name] ?? undefined, { signal, log, shortfall }),
      'etl.extract',
      { attributes: { 'coinpipe.source': source.name, 'coinpipe.stream': stream.name } },
      (batch) => ({ 'coinpipe.batch.rows': batch.rowCount }),
    )
    for await (const batch of batches) {
      const now = nowIso(ctx)
      const cursorAfter = JSON.stringify(batch.cursorAfter)
      const rawBatchId = await storeRawBatch(
        ctx.db.kysely,
        { runId, source: source.name, stream: stream.name, cursorBefore: cursor, now },
        batch,
      )
      cursor = cursorAfter
      const batchLog = log.child({ batch_id: rawBatchId })
      const target = {
        source: source.name,
        conflictCode: source.conflictCode,
        stream: stream.name,
        runId,
        rawBatchId,
        cursorAfter,
        now,
        extracted: batch.rowCount,
      }
      let prepared
      try {
        prepared = await prepareBatch(
          ctx,
          source,
          stream.name,
          batch,
          { runId, rawBatchId, loadedAt: now },
          cache,
        )
      } catch (error) {
        await settle()
        if (!(error instanceof AppError)) {
          await markBatchFailed(ctx.db.kysely, rawBatchId, errorCode(error), errorMessage(error)).catch(
            () => undefined,
          )
          throw error
        }
        // The payload is unusable as a whole: keep it for replay and move past it.
        failed++
        batchLog.warn({ errorCode: error.code, err: error }, 'batch failed to transform')
        await skipFailedBatch(ctx.db, target, error)
        checkpoints[stream.name] = batch.cursorAfter
        continue
      }
      await settle()
      // Only the cursor outlives this iteration: the batch's text and parsed rows are garbage once
      // the next batch is read, while this one loads.
      const batchCursor = batch.cursorAfter
      inFlight = loadBatch(ctx.db, target, prepared).then(
        (counts) => {
          for (const key of Object.keys(totals) as (keyof RunCounts)[]) totals[key] += counts[key]
          ctx.metrics?.countRecords(source.name, counts)
          batchLog.debug({ ...counts }, 'batch loaded')
          checkpoints[stream.name] = batchCursor
          onProgress?.({ stream: stream.name, ...totals, fraction: stream.fractionDone?.(batchCursor) })
        },
        async (error: unknown) => {
          await markBatchFailed(ctx.db.kysely, rawBatchId, errorCode(error), errorMessage(error)).catch(
            () => undefined,
          )
          throw error
        },
      )
      // Handled when settled; this only keeps a failure from being reported as unhandled meanwhile.
      inFlight.catch(() => undefined)
    }
    await settle()
  } catch (error) {
    // Whatever failed, the batch in flight finishes (or fails) before the run is closed.
    await inFlight?.catch(() => undefined)
    throw error
  }
  return failed
}
