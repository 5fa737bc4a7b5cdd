import { setTimeout as sleep } from 'node:timers/promises'
import { findRun, listRunningRuns } from '../db/repositories/run-repository.js'
import type { RunTrigger } from '../domain/run.js'
import {
  BackfillAlreadyRunningError,
  errorMessage,
  QueueUnavailableError,
  RunAlreadyQueuedError,
  RunAlreadyRunningError,
  SchedulerStoppedError,
} from '../errors.js'
import type { ScheduleOptions } from '../jobs/scheduler.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import type { Scheduler, StartedRun } from '../pipeline/run-starter.js'
import { checkBackfill } from '../pipeline/backfill.js'
import type { EtlJobData, EtlQueue } from './etl-queue.js'

export interface QueueSchedulerOptions extends ScheduleOptions {
  /** How long `startRun` waits for a worker to start the run before answering with the queued job. */
  readonly startWaitMs?: number
}

/** A request to Redis that takes longer than this is an outage: the API answers 503 instead of hanging. */
const QUEUE_TIMEOUT_MS = 3_000
const POLL_MS = 100
/** Schedules are re-applied this often, so a Redis that lost its data (restarted empty) gets them back. */
const REAPPLY_MS = 60_000

/**
 * `serve`'s scheduler in queue mode: it runs nothing itself. Its schedules are BullMQ job schedulers
 * (one per source, upserted by a fixed id, so every replica agrees on one job per tick), and a run
 * asked for through the API is a job for the workers.
 */
export function createQueueScheduler(
  ctx: PipelineContext,
  queue: EtlQueue,
  options: QueueSchedulerOptions,
): Scheduler {
  const startWaitMs = options.startWaitMs ?? 2_000
  const stopped = new AbortController()
  let reapply: NodeJS.Timeout | undefined
  let applyNow: (() => Promise<void>) | undefined
  const onReady = () => void applyNow?.()

  const applySchedules = async () => {
    const schedules: Record<string, string> = {}
    for (const source of options.sources) schedules[source] = options.schedules[source] ?? 'off'
    await queue.applySchedules(schedules)
  }

  const enqueue = async (
    source: string,
    trigger: RunTrigger,
    startedBy: string | null = null,
    backfill?: EtlJobData['backfill'],
  ) => {
    try {
      return await queue.enqueue(source, trigger, startedBy, backfill)
    } catch (error) {
      throw new QueueUnavailableError(error)
    }
  }

  /** The run a worker started for the job, or undefined when none has within the wait. */
  const awaitRun = async (jobId: string) => {
    const deadline = Date.now() + startWaitMs
    while (Date.now() < deadline && !stopped.signal.aborted) {
      const job = await queue.job(jobId).catch(() => undefined)
      const runId = job?.result?.runId ?? job?.progress.runId
      if (runId !== undefined) return findRun(ctx.db.kysely, runId)
      await sleep(POLL_MS)
    }
    return undefined
  }

  /** The run a worker started for the job within the wait, or the job as it waits. */
  const started = async (
    jobId: string,
    source: string,
    trigger: RunTrigger,
    startedBy: string | null,
  ): Promise<StartedRun> => {
    const run = await awaitRun(jobId)
    if (run) return { run }
    const queued = await queue.queued().catch(() => [])
    return {
      queued: queued.find((job) => job.jobId === jobId) ?? {
        jobId,
        source,
        trigger,
        queuedAt: new Date().toISOString(),
        waitingFor: undefined,
        startedBy,
      },
    }
  }

  return {
    async startRun(source, trigger, startedBy = null): Promise<StartedRun> {
      ctx.sources.check(source)
      if (stopped.signal.aborted) throw new SchedulerStoppedError(source)
      // The answer the in-process mode gives, from the run history every worker writes to.
      if (
        (await listRunningRuns(ctx.db.kysely)).some(
          (run) => run.source === source && run.trigger !== 'backfill',
        )
      )
        throw new RunAlreadyRunningError(source)
      const { jobId, duplicate } = await enqueue(source, trigger, startedBy)
      if (duplicate) throw new RunAlreadyQueuedError(source, jobId)
      return started(jobId, source, trigger, startedBy)
    },

    async startBackfill({ source, ...backfill }, startedBy = null): Promise<StartedRun> {
      checkBackfill({ source, ...backfill }, ctx.now?.() ?? new Date())
      if (stopped.signal.aborted) throw new SchedulerStoppedError(source)
      if (
        (await listRunningRuns(ctx.db.kysely)).some(
          (run) => run.source === source && run.trigger === 'backfill',
        )
      )
        throw new BackfillAlreadyRunningError(source)
      const { jobId, duplicate } = await enqueue(source, 'backfill', startedBy, backfill)
      if (duplicate) throw new RunAlreadyQueuedError(source, jobId)
      return started(jobId, source, 'backfill', startedBy)
    },

    async start() {
      let startRunsQueued = !options.runOnStart
      const ensureSchedules = async () => {
        try {
          await applySchedules()
        } catch (error) {
          ctx.log.error(
            { error: errorMessage(error) },
            'cannot apply the ETL schedules to the queue (Redis unreachable?); retrying',
          )
          return
        }
        if (startRunsQueued) return
        startRunsQueued = true
        for (const source of options.sources)
          ctx.log.info({ source, schedule: options.schedules[source] ?? 'off' }, 'source scheduled (queue)')
        for (const source of options.sources)
          await enqueue(source, 'start').catch((error: unknown) =>
            ctx.log.error({ source, error: errorMessage(error) }, 'start-up run could not be queued'),
          )
      }
      // On every (re)connection, so a Redis that restarted empty gets the schedules back at once,
      // and every minute besides.
      // Redis not there yet is logged by the first try; the schedules follow once it connects.
      await queue.connected(QUEUE_TIMEOUT_MS).catch(() => undefined)
      await ensureSchedules()
      applyNow = ensureSchedules
      queue.redis.on('ready', onReady)
      reapply = setInterval(() => void ensureSchedules(), REAPPLY_MS)
      reapply.unref()
    },

    stop() {
      stopped.abort()
      clearInterval(reapply)
      queue.redis.off('ready', onReady)
      return Promise.resolve()
    },
  }
}
