import { once } from 'node:events'
import type { Redis } from 'ioredis'
import { errorMessage } from '../errors.js'
import { withTimeout } from '../with-timeout.js'
import type { EtlRunRow } from '../db/schema.js'
import { RUN_OWNER, type PipelineContext } from '../pipeline/pipeline-context.js'
import { recoverRunsOfSource } from '../pipeline/recover-runs.js'
import { runSource, type RunOptions } from '../pipeline/run-pipeline.js'
import { queueKeys } from './queue-keys.js'
import { SourceLease } from './source-lease.js'

/** The lease could not be asked for (Redis unreachable): nothing ran, the job should try again. */
export class LeaseUnavailableError extends Error {
  constructor(source: string, cause: unknown) {
    super(`cannot take the lease on ${source}: ${errorMessage(cause)}`, { cause })
    this.name = 'LeaseUnavailableError'
  }
}

export interface LeasedRunOptions extends RunOptions {
  readonly prefix: string
  readonly leaseMs: number
  /** Says who holds the lease beside the run owner (`host:pid`): a job id, or `etl run`. */
  readonly holder: string
}

/** The run, and whether it stopped early because the lease was lost or `signal` aborted. */
export type LeasedRun =
  { readonly run: EtlRunRow; readonly stoppedEarly: boolean } | { readonly heldBy: string }

/**
 * One run of `source` in queue mode, by a worker or by `etl run` in-process: under the source's
 * cluster-wide lease, so no two processes run it at once. Holding the lease proves that a run of it
 * still `running` belongs to a process that lost the lease (killed, frozen), so that run is marked
 * `RUN_INTERRUPTED` first and this one resumes from its checkpoints. Losing the lease mid-run stops
 * the run after its batch in flight. Resolves `heldBy` when another process holds the lease.
 */
export async function runUnderLease(
  ctx: PipelineContext,
  redis: Redis,
  source: string,
  options: LeasedRunOptions,
): Promise<LeasedRun> {
  const key = queueKeys(options.prefix).lease(source)
  let lease: SourceLease | undefined
  try {
    // The lease connection fails commands while it reconnects; give it up to a lease's time.
    if (redis.status !== 'ready')
      await withTimeout(once(redis, 'ready'), options.leaseMs, 'Redis did not connect')
    lease = await SourceLease.acquire(redis, key, `${RUN_OWNER} ${options.holder}`, options.leaseMs)
  } catch (error) {
    throw new LeaseUnavailableError(source, error)
  }
  if (!lease) return { heldBy: (await SourceLease.holder(redis, key)) ?? 'another process' }
  try {
    await recoverRunsOfSource(ctx, source)
    const signal = options.signal ? AbortSignal.any([options.signal, lease.lost]) : lease.lost
    const run = await runSource(ctx, source, { ...options, signal })
    return { run, stoppedEarly: run.errorCode === 'RUN_CANCELLED' && signal.aborted }
  } finally {
    await lease.release()
  }
}
