import { DelayedError, WaitingError, Worker, type Job } from 'bullmq'
import { RunAlreadyRunningError } from '../errors.js'
import { insertSkippedRun } from '../db/repositories/run-repository.js'
import { runBackfill } from '../pipeline/backfill.js'
import { RUN_OWNER, type PipelineContext } from '../pipeline/pipeline-context.js'
import { createRedis } from '../redis/redis-connection.js'
import { withTraceCarrier } from '../telemetry/tracing.js'
import { ETL_QUEUE, type EtlJobData, type EtlJobProgress, type EtlJobResult } from './etl-queue.js'
import { queueKeys } from './queue-keys.js'
import { LeaseUnavailableError, runUnderLease } from './leased-run.js'

export interface EtlWorkerOptions {
  readonly redisUrl: string
  readonly prefix: string
  /** How long a job's and a source's lease last without renewal: how soon a dead worker's job moves on. */
  readonly leaseMs: number
  /** Jobs run at once; one per source makes every source able to run beside the others. */
  readonly concurrency: number
}

export interface EtlWorker {
  /** `host:pid`, as runs record their owner and `/health` lists workers. */
  readonly id: string
  /**
   * Stops taking jobs; runs in flight stop after their batch in flight commits, and their jobs go
   * back to the queue for another worker, which resumes from the checkpoints.
   */
  close(): Promise<void>
}

const HEARTBEAT_MS = 15_000
/** A job whose source is running elsewhere waits this long before it asks again. */
const LEASE_RETRY_MS = 2_000

/**
 * `coinpipe worker`: takes ETL jobs from the queue and runs them through the same `runSource` the
 * CLI and `serve` call. One run per source across the cluster (a lease per source in Redis), a
 * dead worker's job retried elsewhere once its lease lapses, and the run it left marked
 * `RUN_INTERRUPTED` by the worker that takes the source next.
 */
export function startEtlWorker(ctx: PipelineContext, options: EtlWorkerOptions): EtlWorker {
  const id = RUN_OWNER
  const keys = queueKeys(options.prefix)
  // One connection for BullMQ (it adds its blocking one), one for leases and heartbeats.
  const connection = createRedis(options.redisUrl, 'worker', `coinpipe-worker ${id}`)
  // Leases must fail fast while Redis is away, so a lease not renewed in time counts as lost.
  const redis = createRedis(options.redisUrl, 'producer', `coinpipe-worker ${id} leases`)
  const shutdown = new AbortController()
  const running = new Set<string>()
  const log = ctx.log.child({ worker: id })

  // Who is alive and what it runs, for /health: a sorted set of heartbeats, a set per worker.
  const heartbeat = async () => {
    const now = Date.now()
    const beat = redis
      .multi()
      .zadd(keys.workers, now, id)
      .zremrangebyscore(keys.workers, '-inf', now - 24 * 3600_000)
      .del(keys.workerRunning(id))
    if (running.size > 0)
      beat.sadd(keys.workerRunning(id), ...running).pexpire(keys.workerRunning(id), 4 * HEARTBEAT_MS)
    await beat.exec().catch(() => undefined)
  }
  const beating = setInterval(() => void heartbeat(), HEARTBEAT_MS)
  beating.unref()
  // At once on every (re)connection: the connection fails commands while it is not ready.
  redis.on('ready', () => void heartbeat())

  /**
   * A backfill runs beside its source's snapshot runs, so it takes no lease; the database keeps it
   * to one per source. Stopped by a shutdown, its job goes back for another worker, which resumes
   * from the windows committed.
   */
  const runBackfillJob = async (
    job: Job<EtlJobData, EtlJobResult>,
    backfill: NonNullable<EtlJobData['backfill']>,
    token: string | undefined,
  ): Promise<EtlJobResult> => {
    const { source } = job.data
    let run
    try {
      run = await withTraceCarrier(job.data.trace, () =>
        runBackfill(
          ctx,
          { source, ...backfill },
          {
            startedBy: job.data.startedBy ?? null,
            signal: shutdown.signal,
            onStarted: (started) =>
              void job.updateProgress({ runId: started.id } satisfies EtlJobProgress).catch(() => undefined),
          },
        ),
      )
    } catch (error) {
      if (!(error instanceof RunAlreadyRunningError)) throw error
      // A backfill of this source is running elsewhere (or its dead owner is not yet known dead).
      await job.updateProgress({ waitingFor: error.message } satisfies EtlJobProgress)
      await job.moveToDelayed(Date.now() + LEASE_RETRY_MS, token)
      throw new DelayedError()
    }
    if (shutdown.signal.aborted && run.errorCode === 'RUN_CANCELLED') {
      log.info({ job_id: job.id, source, run_id: run.id }, 'backfill job released after its window committed')
      await job.moveToWait(token)
      throw new WaitingError()
    }
    return { runId: run.id, status: run.status }
  }

  const runJob = async (job: Job<EtlJobData, EtlJobResult>, token?: string): Promise<EtlJobResult> => {
    const { source, trigger } = job.data
    if (job.data.backfill) return runBackfillJob(job, job.data.backfill, token)
    running.add(source)
    void heartbeat()
    try {
      // Inside the trace of whoever asked for the run (a request on another process); a scheduled
      // tick carries none, and its run is a trace of its own.
      const outcome = await withTraceCarrier(job.data.trace, () =>
        runUnderLease(ctx, redis, source, {
          prefix: options.prefix,
          leaseMs: options.leaseMs,
          trigger,
          startedBy: job.data.startedBy ?? null,
          holder: `job ${job.id}`,
          signal: shutdown.signal,
          onStarted: (run) =>
            void job.updateProgress({ runId: run.id } satisfies EtlJobProgress).catch(() => undefined),
        }),
      )
      if ('heldBy' in outcome) return await notNow(job, token, outcome.heldBy)
      if (outcome.stoppedEarly) {
        // Stopped after its batch in flight: the job goes back for another worker to carry on.
        log.info({ job_id: job.id, source, run_id: outcome.run.id }, 'job released after its batch committed')
        await job.moveToWait(token)
        throw new WaitingError()
      }
      return { runId: outcome.run.id, status: outcome.run.status }
    } catch (error) {
      // A run of this source started outside the queue (`etl run` without REDIS_URL on this database).
      if (error instanceof RunAlreadyRunningError) return notNow(job, token, 'a run outside the queue')
      // Redis went away between handing out the job and the lease: nothing ran; try again shortly.
      if (error instanceof LeaseUnavailableError) {
        log.warn(
          { job_id: job.id, source, error: error.message },
          'job put back: its lease could not be taken',
        )
        await job.moveToDelayed(Date.now() + LEASE_RETRY_MS, token)
        throw new DelayedError()
      }
      throw error
    } finally {
      running.delete(source)
      void heartbeat()
    }
  }

  /**
   * The job's source is running elsewhere. A scheduled tick is dropped, recorded as a `skipped` run
   * (the run in progress already covers it, as croner's overrun protection does in-process); a run
   * asked for by a person waits, and says what for while it waits.
   */
  const notNow = async (
    job: Job<EtlJobData, EtlJobResult>,
    token: string | undefined,
    holder: string,
  ): Promise<EtlJobResult> => {
    const { source, trigger } = job.data
    const reason = `a run of ${source} was in progress (${holder})`
    // The lease may still name this very job: its last worker died, and the lease outlived the
    // job's lock. That run is not a duplicate to drop but the one to resume once the lease lapses.
    const ownPreviousAttempt = holder.endsWith(` job ${job.id}`)
    if ((trigger === 'schedule' || trigger === 'start') && !ownPreviousAttempt) {
      const skipped = await insertSkippedRun(ctx.db.kysely, {
        source,
        trigger,
        owner: id,
        at: new Date().toISOString(),
        errorMessage: `job ${job.id} dropped as a duplicate: ${reason}`,
      })
      log.info({ job_id: job.id, source, run_id: skipped.id }, 'scheduled job dropped: its source is running')
      return { runId: skipped.id, status: skipped.status }
    }
    await job.updateProgress({ waitingFor: reason } satisfies EtlJobProgress)
    await job.moveToDelayed(Date.now() + LEASE_RETRY_MS, token)
    throw new DelayedError()
  }

  const worker = new Worker<EtlJobData, EtlJobResult>(ETL_QUEUE, runJob, {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.leaseMs,
    stalledInterval: options.leaseMs,
    // A job whose worker dies is retried by another worker; only a job that keeps killing its
    // workers is given up on.
    maxStalledCount: 5,
  })
  worker.on('stalled', (jobId) => {
    log.warn({ job_id: jobId }, 'job stalled: its worker stopped renewing it; it goes to another worker')
    void redis.incr(keys.stalledTotal).catch(() => undefined)
  })
  worker.on('failed', (job, error) => {
    if (job) log.error({ job_id: job.id, source: job.data.source, err: error }, 'job failed')
  })
  worker.on('error', (error) => log.warn({ error: error.message }, 'queue connection problem; retrying'))
  log.info({ concurrency: options.concurrency }, 'worker started')

  return {
    id,
    async close() {
      shutdown.abort()
      clearInterval(beating)
      await worker.close()
      await redis.zrem(keys.workers, id).catch(() => undefined)
      await redis.del(keys.workerRunning(id)).catch(() => undefined)
      redis.disconnect()
      connection.disconnect()
    },
  }
}
