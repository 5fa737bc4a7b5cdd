import { findCheckpoint } from '../db/repositories/checkpoint-repository.js'
import { getRawBatch, markBatchFailed } from '../db/repositories/raw-batch-repository.js'
import { finishRun, insertRun } from '../db/repositories/run-repository.js'
import { recordRunEnd, runFailureCode } from './run-end.js'
import type { EtlRunRow } from '../db/schema.js'
import { AppError, errorCode, errorMessage } from '../errors.js'
import { loadBatch } from './load.js'
import { nowIso, RUN_OWNER, type PipelineContext } from './pipeline-context.js'
import { AssetCache } from '../identity/resolve-assets.js'
import { prepareBatch } from './transform.js'
import { inRunSpan } from './run-span.js'

export interface ReplayResult {
  readonly batchId: number
  readonly outcome: 'loaded' | 'already_loaded' | 'failed'
  readonly run?: EtlRunRow
  readonly errorCode?: string
  readonly errorMessage?: string
}

/**
 * Re-runs transform and load of a stored batch from its raw payload, without the network. A batch
 * already loaded is left alone; loading is an upsert, so a replay can never double a record. The
 * stream's checkpoint moves past the batch only if it still stands right before it.
 */
export function replayBatch(
  ctx: PipelineContext,
  batchId: number,
  opts: { startedBy?: string | null } = {},
): Promise<ReplayResult> {
  return inRunSpan(
    { trigger: 'replay', batchId },
    () => replayStoredBatch(ctx, batchId, opts),
    (result) => result.run,
  )
}

async function replayStoredBatch(
  ctx: PipelineContext,
  batchId: number,
  opts: { startedBy?: string | null },
): Promise<ReplayResult> {
  const batch = await getRawBatch(ctx.db.kysely, batchId)
  if (batch.status === 'loaded') return { batchId, outcome: 'already_loaded' }
  const source = await ctx.sources.get(batch.source)
  const startedMs = Date.now()
  const checkpoint = async () =>
    JSON.stringify({
      [batch.stream]: JSON.parse(
        (await findCheckpoint(ctx.db.kysely, batch.source, batch.stream)) ?? 'null',
      ) as unknown,
    })
  const run = await insertRun(ctx.db.kysely, {
    source: source.name,
    trigger: 'replay',
    owner: RUN_OWNER,
    startedAt: nowIso(ctx),
    checkpointBefore: await checkpoint(),
    startedBy: opts.startedBy ?? null,
  })
  const log = ctx.log.child({ run_id: run.id, source: source.name, batch_id: batchId })
  const now = nowIso(ctx)
  let failure: unknown
  try {
    const payload = { payload: batch.payload, meta: JSON.parse(batch.meta) as Record<string, unknown> }
    const prepared = await prepareBatch(
      ctx,
      source,
      batch.stream,
      payload,
      { runId: run.id, rawBatchId: batchId, loadedAt: now },
      new AssetCache(),
    )
    await loadBatch(
      ctx.db,
      {
        source: source.name,
        conflictCode: source.conflictCode,
        stream: batch.stream,
        runId: run.id,
        rawBatchId: batchId,
        extracted: batch.rowCount,
        cursorAfter: batch.cursorAfter,
        onlyIfCheckpointIs: batch.cursorBefore,
        now,
      },
      prepared,
    )
  } catch (error) {
    failure = error
    if (!(error instanceof AppError)) log.error({ err: error }, 'replay crashed on an unexpected error')
    await markBatchFailed(ctx.db.kysely, batchId, errorCode(error), errorMessage(error))
  }
  const finished = await recordRunEnd(log, async () =>
    finishRun(ctx.db.kysely, run.id, {
      status: failure ? 'failed' : 'succeeded',
      finishedAt: nowIso(ctx),
      durationMs: Date.now() - startedMs,
      errorCode: failure ? runFailureCode(failure) : null,
      errorMessage: failure ? errorMessage(failure) : null,
      checkpointAfter: await checkpoint(),
    }),
  )
  ctx.metrics?.observeRun(finished)
  ctx.metrics?.countRecords(finished.source, finished)
  log.info(
    { status: finished.status, loaded: finished.loaded, unchanged: finished.unchanged },
    'batch replayed',
  )
  return failure
    ? {
        batchId,
        outcome: 'failed',
        run: finished,
        errorCode: errorCode(failure),
        errorMessage: errorMessage(failure),
      }
    : { batchId, outcome: 'loaded', run: finished }
}
