import { performance } from 'node:perf_hooks'
import { QueueEvents } from 'bullmq'
import type { loadCoinpipe } from './coinpipe-build.js'
import { jobTiming, type JobTiming } from './bare-queue.js'
import type { WorkerPool } from './worker-processes.js'

export type Coinpipe = Awaited<ReturnType<typeof loadCoinpipe>>
export type EtlQueue = Awaited<ReturnType<Coinpipe['openEtlQueue']>>

/** The two live sources: a cycle is one run of each. */
export const SOURCES = ['coingecko', 'coinpaprika'] as const
export type BenchSource = (typeof SOURCES)[number]

/** One run of one source, as its row in `etl_runs` tells it. */
export interface RunResult {
  readonly runId: number
  readonly loaded: number
  /** `finished_at − started_at`: the run's own time, without the queue around it. */
  readonly runMs: number
  /** The process that ran it (`host:pid`). */
  readonly owner: string
}

/** A way to run a source: in this process, or as a job for the workers. */
export interface Runner {
  /** How many processes run the sources: each has its own code to warm up. */
  readonly processes: number
  run(source: BenchSource): Promise<RunResult>
  close(): Promise<void>
}

/** A queued run, with where its time went and, when asked for, when `EtlQueue.settled` saw it done. */
export interface QueuedRunResult extends RunResult {
  readonly timing: JobTiming
  readonly settledMs?: number
}

export interface QueueRunner extends Runner {
  runJob(source: BenchSource, opts?: { observeSettled?: boolean }): Promise<QueuedRunResult>
}

const JOB_TIMEOUT_MS = 120_000
const CONNECT_TIMEOUT_MS = 5_000

/**
 * The in-process mode: `runSource` in this process on a context built as `openCliContext` builds
 * it without REDIS_URL (same config, identity settings from config, no Redis limiter).
 */
export async function inProcessRunner(
  coinpipe: Coinpipe,
  env: Readonly<Record<string, string>>,
): Promise<Runner> {
  const config = coinpipe.loadConfig(env)
  const log = coinpipe.createLogger(config.logLevel, { pretty: false, fd: 2 })
  const db = await coinpipe.openDatabase(config.database)
  const ctx = {
    db,
    log,
    sources: coinpipe.createSourceRegistry(config, log),
    staleRunAfterMs: config.etl.staleRunAfterMs,
    identity: await coinpipe.identitySettingsFromConfig(config.identity),
  }
  return {
    processes: 1,
    async run(source) {
      const row = await coinpipe.runSource(ctx, source, { trigger: 'cli' })
      if (row.status !== 'succeeded')
        throw new Error(`in-process ${source} run ${row.id} ${row.status}: ${row.errorMessage}`)
      return {
        runId: row.id,
        loaded: row.loaded,
        runMs: Date.parse(row.finishedAt!) - Date.parse(row.startedAt),
        owner: row.owner,
      }
    },
    async close() {
      await ctx.sources.close()
      await db.close()
    },
  }
}

/**
 * Queue mode under `prefix`: each run is a job (`EtlQueue.enqueue(source, 'cli')`) for the workers
 * `startPool` starts, awaited through BullMQ's QueueEvents (as soon as it completes: `EtlQueue.settled`
 * polls every 100 ms, which would measure its poll), its run read back from `databaseUrl`. A job that
 * fails, or a worker that dies, rejects. `close` stops the workers.
 */
export async function openQueueRunner(
  coinpipe: Coinpipe,
  opts: {
    redisUrl: string
    prefix: string
    databaseUrl: string
    startPool: (queue: EtlQueue['queue']) => Promise<WorkerPool>
  },
): Promise<QueueRunner> {
  const queue = await coinpipe.openEtlQueue(opts.redisUrl, opts.prefix, 'coinpipe workers-bench')
  const events = new QueueEvents(queue.queue.name, {
    connection: { url: opts.redisUrl },
    prefix: opts.prefix,
  })
  const db = await coinpipe.openDatabase(coinpipe.loadConfig({ DATABASE_URL: opts.databaseUrl }).database)
  const closeQueue = async () => {
    await events.close()
    await queue.close()
    await db.close()
  }
  let pool: WorkerPool
  try {
    await Promise.all([queue.connected(CONNECT_TIMEOUT_MS), events.waitUntilReady()])
    pool = await opts.startPool(queue.queue)
  } catch (error) {
    await closeQueue()
    throw error
  }
  const runJob = async (source: BenchSource, { observeSettled = false } = {}): Promise<QueuedRunResult> => {
    const started = performance.now()
    const { jobId, duplicate } = await queue.enqueue(source, 'cli')
    // The previous job of this source has settled before this one is asked for: a duplicate is a bench bug.
    if (duplicate) throw new Error(`job ${jobId} of ${source} was still queued when the next was added`)
    const watching = new AbortController()
    const settled = observeSettled
      ? queue.settled(jobId, watching.signal).then(() => performance.now() - started)
      : undefined
    settled?.catch(() => undefined) // awaited below; this only keeps an early failure from going unhandled
    try {
      const job = await queue.queue.getJob(jobId)
      if (!job) throw new Error(`job ${jobId} of ${source} is gone from the queue`)
      const result = await Promise.race([job.waitUntilFinished(events, JOB_TIMEOUT_MS), pool.crashed])
      const totalMs = performance.now() - started
      const [settledMs, done, row] = await Promise.all([
        settled && Promise.race([settled, pool.crashed]),
        queue.queue.getJob(jobId),
        db.kysely.selectFrom('etlRuns').selectAll().where('id', '=', result.runId).executeTakeFirstOrThrow(),
      ])
      if (row.status !== 'succeeded')
        throw new Error(`job ${jobId}: ${source} run ${row.id} ${row.status}: ${row.errorMessage}`)
      return {
        runId: row.id,
        loaded: row.loaded,
        runMs: Date.parse(row.finishedAt!) - Date.parse(row.startedAt),
        owner: row.owner,
        timing: jobTiming(done!, totalMs),
        settledMs,
      }
    } finally {
      watching.abort()
      await settled?.catch(() => undefined)
    }
  }
  return {
    processes: pool.pids.length,
    runJob,
    run: runJob,
    async close() {
      await pool.stop()
      await closeQueue()
    },
  }
}
