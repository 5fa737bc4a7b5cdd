import { existsSync } from 'node:fs'
import type { EtlRunRow } from '../../db/schema.js'
import { findRun } from '../../db/repositories/run-repository.js'
import { AppError, errorMessage, RunAlreadyRunningError } from '../../errors.js'
import { RUN_OWNER, type PipelineContext } from '../../pipeline/pipeline-context.js'
import { recoverInterruptedRuns } from '../../pipeline/recover-runs.js'
import { runSource, type RunOptions } from '../../pipeline/run-pipeline.js'
import { openCliContext } from '../cli-context.js'
import { CliError } from '../cli-error.js'
import { EXIT } from '../exit-codes.js'
import type { ProgressDisplay } from '../progress-display.js'
import { renderRunTable } from '../run-table.js'

export interface EtlRunOptions {
  readonly source: string[]
  readonly file: string[]
  readonly json: boolean
  /** Queue mode: put a job per source on the queue and wait for the workers' results. */
  readonly enqueue?: boolean
}

/**
 * `coinpipe etl run`: run sources now, one after the other, and print a summary; exit 1 when any
 * run failed. SIGINT or SIGTERM stops after the batch in flight has committed (the run ends
 * `partial`, `RUN_CANCELLED`) and starts no further source; a second signal quits at once.
 */
export async function etlRunCommand(options: EtlRunOptions): Promise<number> {
  if (options.enqueue && options.file.length > 0)
    throw new CliError(
      '--file cannot be used with --enqueue: workers import the CSV_PATHS of their own host',
      EXIT.CONFIG,
    )
  for (const file of options.file) {
    if (!existsSync(file)) throw new CliError(`file not found: ${file}`, EXIT.INPUT)
  }
  // A person at a terminal gets a live progress line; info logs give way to it (warnings still print, above it).
  const display =
    !options.json && process.stderr.isTTY
      ? (await import('../progress-display.js')).createProgressDisplay(process.stderr)
      : undefined
  const { config, log, pipeline, close } = await openCliContext({
    logLevel: options.json || display ? 'warn' : undefined,
    logDestination: display?.logStream,
  })
  try {
    const requested =
      options.source.length > 0 ? options.source : options.file.length > 0 ? ['csv'] : config.sources.enabled
    const sources =
      options.source.length > 0 ? requested : requested.filter((s) => pipeline.sources.available.includes(s))
    for (const source of sources) pipeline.sources.check(source)
    if (options.file.length > 0 && sources.some((s) => s !== 'csv')) {
      throw new CliError('--file can only be used with --source csv', EXIT.CONFIG)
    }
    if (options.enqueue && config.redisUrl === undefined)
      throw new CliError(
        '--enqueue needs REDIS_URL (queue mode); without it, runs go in-process',
        EXIT.CONFIG,
      )
    await recoverInterruptedRuns(pipeline)

    const abort = new AbortController()
    // `once`: the second signal finds no listener and Node's default ends the process at once.
    const stop = (signal: NodeJS.Signals) => {
      log.warn(
        { signal },
        options.enqueue
          ? 'no longer waiting: the queued jobs run on; send it again to quit at once'
          : 'stopping after the batch in flight has committed; send it again to quit at once',
      )
      abort.abort()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    let runs: EtlRunRow[]
    try {
      const queue = config.redisUrl
        ? { url: config.redisUrl, prefix: config.queue.prefix, leaseMs: config.queue.leaseMs }
        : undefined
      runs = options.enqueue
        ? await enqueueAndWait(pipeline, queue!, sources, abort.signal)
        : await runInProcess(pipeline, queue, sources, {
            files: options.file,
            signal: abort.signal,
            display,
          })
    } finally {
      display?.stop()
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
    console.log(options.json ? JSON.stringify({ runs: runs.map(runSummary) }, null, 2) : renderRunTable(runs))
    return runs.some((r) => r.status === 'failed') ? EXIT.RUN_FAILED : EXIT.OK
  } finally {
    await close()
  }
}

interface QueueSettings {
  readonly url: string
  readonly prefix: string
  readonly leaseMs: number
}

/** Each source in turn, in this process; in queue mode, under the source's cluster-wide lease. */
async function runInProcess(
  pipeline: PipelineContext,
  queue: QueueSettings | undefined,
  sources: readonly string[],
  options: { files: readonly string[]; signal: AbortSignal; display: ProgressDisplay | undefined },
): Promise<EtlRunRow[]> {
  const { display, signal } = options
  const leases = queue && (await openLeases(queue))
  const runs: EtlRunRow[] = []
  try {
    for (const source of sources) {
      if (signal.aborted) break
      display?.start(source)
      const runOptions: RunOptions = {
        trigger: 'cli',
        startedBy: 'cli',
        files: source === 'csv' && options.files.length > 0 ? options.files : undefined,
        signal,
        onProgress: display && ((progress) => display.update(progress)),
      }
      let run: EtlRunRow
      try {
        if (leases) {
          const outcome = await leases.run(pipeline, source, runOptions)
          if ('heldBy' in outcome)
            throw new CliError(
              `a run of ${source} is in progress (${outcome.heldBy}); try again when it has finished`,
              EXIT.RUN_FAILED,
            )
          run = outcome.run
        } else run = await runSource(pipeline, source, runOptions)
      } catch (error) {
        if (error instanceof RunAlreadyRunningError)
          throw new CliError(`${error.message}; try again when it has finished`, EXIT.RUN_FAILED)
        throw error
      }
      display?.finish(run)
      runs.push(run)
    }
  } finally {
    leases?.close()
  }
  return runs
}

/** The lease of queue mode, so an `etl run` never runs a source beside a worker. */
async function openLeases(queue: QueueSettings) {
  const { createRedis } = await import('../../redis/redis-connection.js')
  const { runUnderLease } = await import('../../queue/leased-run.js')
  const redis = createRedis(queue.url, 'producer', `coinpipe etl run ${RUN_OWNER}`)
  return {
    run: async (pipeline: PipelineContext, source: string, options: RunOptions) => {
      try {
        return await runUnderLease(pipeline, redis, source, { ...options, ...queue, holder: 'etl run' })
      } catch (error) {
        if (error instanceof AppError) throw error
        throw new CliError(
          `cannot take the lease on ${source} in Redis (${errorMessage(error)}); check REDIS_URL, or unset it to run without the queue`,
          EXIT.CONFIG,
        )
      }
    },
    close: () => redis.disconnect(),
  }
}

/** `--enqueue`: a job per source, run by the workers side by side; resolves with their runs. */
async function enqueueAndWait(
  pipeline: PipelineContext,
  settings: QueueSettings,
  sources: readonly string[],
  signal: AbortSignal,
): Promise<EtlRunRow[]> {
  const { EtlQueue } = await import('../../queue/etl-queue.js')
  const queue = EtlQueue.open(settings.url, settings.prefix, `coinpipe etl run ${RUN_OWNER}`)
  try {
    const jobs: { source: string; jobId: string }[] = []
    for (const source of sources) {
      let added: { jobId: string; duplicate: boolean }
      try {
        await queue.connected(5_000)
        added = await queue.enqueue(source, 'cli', 'cli')
      } catch (error) {
        throw new CliError(
          `cannot queue a run of ${source}: ${errorMessage(error)} (check REDIS_URL)`,
          EXIT.CONFIG,
        )
      }
      pipeline.log.info(
        { source, job_id: added.jobId },
        added.duplicate ? 'a run of this source was already queued; waiting for it' : 'run queued',
      )
      jobs.push({ source, jobId: added.jobId })
    }
    const results = await Promise.all(
      jobs.map(({ source, jobId }) =>
        queue
          .settled(jobId, signal, (waitingFor) =>
            pipeline.log.info({ source, job_id: jobId }, `waiting: ${waitingFor}`),
          )
          .catch((error: unknown) => {
            if (signal.aborted)
              throw new CliError(`stopped waiting; job ${jobId} (${source}) stays queued`, EXIT.RUN_FAILED)
            throw new CliError(`${source}: ${errorMessage(error)}`, EXIT.RUN_FAILED)
          }),
      ),
    )
    const runs: EtlRunRow[] = []
    for (const result of results) {
      const run = await findRun(pipeline.db.kysely, result.runId)
      if (run) runs.push(run)
    }
    return runs
  } finally {
    await queue.close()
  }
}

/** The `--json` shape of one run: snake_case, like the API. */
export function runSummary(run: EtlRunRow) {
  return {
    id: run.id,
    source: run.source,
    status: run.status,
    batches: run.batches,
    extracted: run.extracted,
    loaded: run.loaded,
    unchanged: run.unchanged,
    rejected: run.rejected,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    duration_ms: run.durationMs,
    error_code: run.errorCode,
    error_message: run.errorMessage,
  }
}
