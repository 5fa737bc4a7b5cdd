import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { QueuedRun, RunStatus, RunTrigger, WorkerSeen } from '../domain/run.js'
import type { BackfillRequest } from '../pipeline/backfill.js'
import { createRedis, pingRedis } from '../redis/redis-connection.js'
import { inSpan, traceCarrier } from '../telemetry/tracing.js'
import { withTimeout } from '../with-timeout.js'
import { queueKeys } from './queue-keys.js'

/** The one queue of ETL jobs; with the prefix, its keys are `<prefix>:etl:…`. */
export const ETL_QUEUE = 'etl'

/** A job asks for one run of one source; its name is the source. */
export interface EtlJobData {
  readonly source: string
  readonly trigger: RunTrigger
  /** A backfill's assets and range (trigger `backfill`): run beside the source's lease, not under it. */
  readonly backfill?: Omit<BackfillRequest, 'source'>
  /** Who asked for the run (`key:…`, `jwt:…`, `cli`); absent for the schedule. */
  readonly startedBy?: string | null
  /** The W3C trace context (`traceparent`, `tracestate`) of whoever asked for the run, when traced. */
  readonly trace?: Readonly<Record<string, string>>
}

/** What a job says while it waits or runs: the run it started, or what it waits for. */
export interface EtlJobProgress {
  readonly runId?: number
  readonly waitingFor?: string
}

/** What a finished job returns: the run it made. */
export interface EtlJobResult {
  readonly runId: number
  readonly status: RunStatus
}

/** Finished jobs are kept a day (and at most a thousand) for the CLI and for debugging. */
const KEEP_FINISHED = { age: 24 * 3600, count: 1000 }
const SETTLE_POLL_MS = 100
/** Replicas that start within this window share one start-up run per source. */
const START_DEDUPLICATION_MS = 60_000
/** One read or write of the queue that takes longer counts as an outage. */
const OPERATION_TIMEOUT_MS = 3_000

/**
 * The producer side of queue mode, used by `serve` and `etl run --enqueue`: adding jobs, keeping
 * one job scheduler per source, and reading what the queue holds. Commands fail fast while Redis
 * is down (the connection does not queue them), so the API can answer 503 at once.
 */
export class EtlQueue {
  private constructor(
    readonly queue: Queue<EtlJobData, EtlJobResult, string>,
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  /**
   * Runs one read or write of the queue, failing at once while the connection is not ready and
   * after OPERATION_TIMEOUT_MS otherwise: BullMQ itself would wait for Redis to come back.
   */
  private async call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') throw new Error(`Redis is not connected (${this.redis.status})`)
    return withTimeout(operation(), OPERATION_TIMEOUT_MS, `Redis did not answer ${what}`)
  }

  static open(url: string, prefix: string, name: string): EtlQueue {
    const redis = createRedis(url, 'producer', name)
    const queue = new Queue<EtlJobData, EtlJobResult, string>(ETL_QUEUE, { connection: redis, prefix })
    queue.on('error', () => undefined)
    return new EtlQueue(queue, redis, prefix)
  }

  /**
   * Adds a job for a run of `source` now. While a job of that source asked for this way is waiting
   * or running, another is not added (`duplicate`: the existing job's id comes back). The run every
   * `serve` replica asks for at start-up is one job per source per minute, however many start.
   * Scheduled ticks have deterministic ids of their own (`repeat:<scheduler>:<due time>`).
   */
  enqueue(
    source: string,
    trigger: RunTrigger,
    startedBy: string | null = null,
    backfill?: EtlJobData['backfill'],
  ): Promise<{ jobId: string; duplicate: boolean }> {
    const attributes = {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': `${this.prefix}:${ETL_QUEUE}`,
      'coinpipe.source': source,
      'coinpipe.trigger': trigger,
    }
    return inSpan(`send ${ETL_QUEUE}`, { kind: 'producer', attributes }, async (span) => {
      const jobId = `${source}-${trigger}-${randomUUID()}`
      // One backfill of a source waits or runs at a time, beside its snapshot runs.
      const deduplication =
        trigger === 'start'
          ? { id: `start:${source}`, ttl: START_DEDUPLICATION_MS }
          : { id: `${backfill ? 'backfill' : 'run'}:${source}` }
      // The worker runs the job inside this span's trace: a run asked for over the API is one trace.
      const trace = traceCarrier()
      const job = await this.call('adding a job', () =>
        this.queue.add(
          source,
          { source, trigger, startedBy, ...(backfill ? { backfill } : {}), ...(trace ? { trace } : {}) },
          { jobId, deduplication, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
        ),
      )
      span?.setAttribute('messaging.message.id', job.id ?? jobId)
      return { jobId: job.id ?? jobId, duplicate: job.id !== jobId }
    })
  }

  /**
   * One job scheduler per source (id `etl:<source>`, upserted), so any number of `serve` replicas
   * make one job per tick; a source whose schedule is `off`, or that is not listed, loses its own.
   */
  applySchedules(schedules: Readonly<Record<string, string>>): Promise<void> {
    return this.call('applying the schedules', () => this.upsertSchedulers(schedules))
  }

  private async upsertSchedulers(schedules: Readonly<Record<string, string>>): Promise<void> {
    const wanted = Object.entries(schedules).filter(([, pattern]) => pattern !== 'off')
    for (const [source, pattern] of wanted) {
      await this.queue.upsertJobScheduler(
        schedulerId(source),
        { pattern },
        {
          name: source,
          data: { source, trigger: 'schedule' },
          opts: { removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED },
        },
      )
    }
    const keep = new Set(wanted.map(([source]) => schedulerId(source)))
    for (const scheduler of await this.queue.getJobSchedulers(0, -1)) {
      if (scheduler.key.startsWith('etl:') && !keep.has(scheduler.key))
        await this.queue.removeJobScheduler(scheduler.key)
    }
  }

  /** Jobs due and not yet taken, oldest first: scheduled ticks still in the future are left out. */
  async queued(): Promise<QueuedRun[]> {
    const jobs = await this.call('listing jobs', () =>
      this.queue.getJobs(['waiting', 'prioritized', 'paused', 'delayed'], 0, 199, true),
    )
    const now = Date.now()
    return jobs
      .filter((job): job is Job<EtlJobData, EtlJobResult, string> & { id: string } => job?.id !== undefined)
      .filter((job) => job.timestamp + (job.opts.delay ?? 0) <= now + 1000 || progressOf(job).waitingFor)
      .map((job) => ({
        jobId: job.id,
        source: job.data.source,
        trigger: job.data.trigger,
        queuedAt: new Date(job.timestamp).toISOString(),
        waitingFor: progressOf(job).waitingFor,
        startedBy: job.data.startedBy ?? null,
      }))
  }

  /** How many jobs are in each state. */
  counts(): Promise<Record<string, number>> {
    return this.call('counting jobs', () =>
      this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'paused'),
    )
  }

  /** Workers whose heartbeat is at most `windowMs` old. */
  workers(windowMs: number): Promise<WorkerSeen[]> {
    return this.call('listing workers', () => this.readWorkers(windowMs))
  }

  private async readWorkers(windowMs: number): Promise<WorkerSeen[]> {
    const keys = queueKeys(this.prefix)
    const seen = await this.redis.zrangebyscore(keys.workers, Date.now() - windowMs, '+inf', 'WITHSCORES')
    const workers: WorkerSeen[] = []
    for (let i = 0; i < seen.length; i += 2) {
      const id = seen[i]!
      const running = await this.redis.smembers(keys.workerRunning(id))
      workers.push({ id, lastSeenAt: new Date(Number(seen[i + 1])).toISOString(), running: running.sort() })
    }
    return workers
  }

  /** Jobs found stalled (their worker stopped renewing them) since the queue was created. */
  async stalledTotal(): Promise<number> {
    const total = await this.call('reading a counter', () =>
      this.redis.get(queueKeys(this.prefix).stalledTotal),
    )
    return Number(total ?? 0)
  }

  /** A job's state, progress and result, or undefined once it is gone. */
  async job(jobId: string): Promise<
    | {
        state: string
        progress: EtlJobProgress
        result: EtlJobResult | undefined
        failedReason: string | undefined
      }
    | undefined
  > {
    const job = await this.call('reading a job', () => this.queue.getJob(jobId))
    if (!job) return undefined
    return {
      state: await this.call('reading a job', () => job.getState()),
      progress: progressOf(job),
      result: job.returnvalue ?? undefined,
      failedReason: job.failedReason || undefined,
    }
  }

  /**
   * Waits until job `jobId` has finished and resolves with its result; rejects when it failed or
   * is gone, or when `signal` aborts (the job itself stays queued). `onWaiting` hears why it waits;
   * while Redis is unreachable it keeps asking.
   */
  async settled(
    jobId: string,
    signal: AbortSignal,
    onWaiting?: (waitingFor: string) => void,
  ): Promise<EtlJobResult> {
    let told: string | undefined
    for (;;) {
      signal.throwIfAborted()
      const job = await this.job(jobId).catch((error: unknown) => error as Error)
      if (job instanceof Error) {
        if (job.message !== told) onWaiting?.((told = job.message))
        await sleep(SETTLE_POLL_MS * 4, undefined, { signal })
        continue
      }
      if (!job) throw new Error(`job ${jobId} is gone from the queue (removed by hand?)`)
      if (job.state === 'completed' && job.result) return job.result
      if (job.state === 'failed')
        throw new Error(`job ${jobId} failed: ${job.failedReason ?? 'no reason given'}`)
      const waitingFor = job.progress.runId === undefined ? job.progress.waitingFor : undefined
      if (waitingFor && waitingFor !== told) onWaiting?.((told = waitingFor))
      await sleep(SETTLE_POLL_MS, undefined, { signal })
    }
  }

  /** Resolves once the connection is ready; rejects when it is not within `timeoutMs`. */
  async connected(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return
    await withTimeout(once(this.redis, 'ready'), timeoutMs, `Redis was not reachable`)
  }

  ping(timeoutMs: number): Promise<void> {
    return pingRedis(this.redis, timeoutMs)
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined)
    this.redis.disconnect()
  }
}

function schedulerId(source: string): string {
  return `etl:${source}`
}

function progressOf(job: Job): EtlJobProgress {
  const progress: unknown = job.progress
  return typeof progress === 'object' && progress !== null ? progress : {}
}
