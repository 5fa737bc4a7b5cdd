import { hostname } from 'node:os'
import { failPendingBatchesOfRun } from '../db/repositories/raw-batch-repository.js'
import { listRunningRuns, markRunInterrupted } from '../db/repositories/run-repository.js'
import type { EtlRunRow } from '../db/schema.js'
import type { PipelineContext } from './pipeline-context.js'

/**
 * Marks runs left `running` by a process that is gone as failed with `RUN_INTERRUPTED`, and their
 * uncommitted batches as failed (raw kept, replayable). Their sources resume from their checkpoints.
 * A run is dead when its owner process on this host no longer exists, or its heartbeat is stale.
 */
export async function recoverInterruptedRuns(ctx: PipelineContext): Promise<number> {
  let recovered = 0
  for (const run of await listRunningRuns(ctx.db.kysely)) {
    if (isAlive(run, ctx.staleRunAfterMs)) continue
    await interrupt(ctx, run, `run was left running by ${run.owner}, which stopped without finishing it`)
    recovered++
  }
  return recovered
}

/**
 * For the holder of a source's lease (queue mode): any run of that source still `running` belongs
 * to a worker that lost the lease (killed, frozen), so it is marked `RUN_INTERRUPTED` now, in
 * seconds, instead of after the heartbeat goes stale.
 */
export async function recoverRunsOfSource(ctx: PipelineContext, source: string): Promise<number> {
  // A backfill runs beside the snapshot runs and holds no lease: its own owner's liveness decides.
  const runs = (await listRunningRuns(ctx.db.kysely)).filter(
    (run) => run.source === source && run.trigger !== 'backfill',
  )
  for (const run of runs)
    await interrupt(ctx, run, `run was left running by ${run.owner}, which lost its lease on ${source}`)
  return runs.length
}

async function interrupt(ctx: PipelineContext, run: EtlRunRow, message: string): Promise<void> {
  await markRunInterrupted(ctx.db.kysely, run, message)
  await failPendingBatchesOfRun(ctx.db.kysely, run.id, 'RUN_INTERRUPTED', message)
  ctx.log.warn({ run_id: run.id, source: run.source, owner: run.owner }, 'interrupted run marked failed')
}

function isAlive(run: EtlRunRow, staleAfterMs: number): boolean {
  if (Date.now() - Date.parse(run.heartbeatAt) > staleAfterMs) return false
  const separator = run.owner.lastIndexOf(':')
  const host = run.owner.slice(0, separator)
  const pid = Number(run.owner.slice(separator + 1))
  if (host !== hostname()) return true
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
