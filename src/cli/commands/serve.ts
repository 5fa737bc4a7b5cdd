import { buildApp } from '../../api/build-app.js'
import type { Config, SourceName } from '../../config.js'
import { errorMessage } from '../../errors.js'
import { keepCandleRollup } from '../../jobs/candle-rollup.js'
import { createInProcessScheduler, type ScheduleOptions } from '../../jobs/scheduler.js'
import { RUN_OWNER, type PipelineContext } from '../../pipeline/pipeline-context.js'
import { recoverInterruptedRuns } from '../../pipeline/recover-runs.js'
import { redactUrl } from '../../redact-secrets.js'
import { openCliContext } from '../cli-context.js'
import { CliError } from '../cli-error.js'
import { EXIT } from '../exit-codes.js'

const SHUTDOWN_TIMEOUT_MS = 25_000

/** `coinpipe serve`: migrate, then the API, the dashboard and the scheduler, until SIGTERM or SIGINT. */
export async function serveCommand(): Promise<void> {
  // One registry for the scheduler's runs, the upstream calls and the API that serves /metrics.
  const { config, log, pipeline, close } = await openCliContext({ logTo: 'stdout', metrics: true })

  const available = config.sources.enabled.filter((s): s is SourceName =>
    pipeline.sources.available.includes(s),
  )
  for (const source of config.sources.enabled.filter((s) => !available.includes(s))) {
    log.warn({ source }, 'source is enabled but not available in this build; it is skipped')
  }
  const scheduleOptions = {
    sources: available,
    schedules: config.etl.schedules,
    runOnStart: config.etl.runOnStart,
  }
  // Queue mode: workers run the ETL (and mark what a dead worker left); this process only asks.
  const queueMode = config.redisUrl !== undefined
  const { scheduler, queue, closeQueue } = queueMode
    ? await openQueueScheduler(config, pipeline, scheduleOptions)
    : { scheduler: createInProcessScheduler(pipeline, scheduleOptions), queue: undefined, closeQueue: noop }
  if (!queueMode) await recoverInterruptedRuns(pipeline)

  const app = await buildApp(config, pipeline, { runs: scheduler, queue, redis: queue?.redis })
  try {
    await app.listen({ host: config.http.host, port: config.http.port })
  } catch (error) {
    // A taken port is an operator's problem, not a bug; and an open pool would keep the process alive.
    await app.close()
    await closeQueue()
    await close()
    throw new CliError(
      `cannot listen on ${config.http.host}:${config.http.port} (check HOST and PORT): ${errorMessage(error)}`,
      EXIT.CONFIG,
    )
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  log.info(
    {
      url: `http://${config.http.host}:${port}`,
      database: redactUrl(config.database.url),
      mode: queue ? 'queue' : 'in-process',
      ...(config.redisUrl ? { redis: redactUrl(config.redisUrl) } : {}),
    },
    'coinpipe is serving',
  )
  await scheduler.start()
  const rollup = keepCandleRollup(pipeline.db, log)

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down: draining requests and letting the batch in flight commit')
    const force = setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS + 5_000).unref()
    try {
      await scheduler.stop(SHUTDOWN_TIMEOUT_MS)
      await rollup.stop()
      await app.close()
      await closeQueue()
      await close()
      log.info('stopped')
    } catch (error) {
      log.error({ err: error }, 'shutdown did not complete cleanly')
      process.exitCode = EXIT.INTERNAL
    } finally {
      clearTimeout(force)
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}

const noop = () => Promise.resolve()

/** The queue, its metrics, and the scheduler that enqueues instead of running (queue mode). */
async function openQueueScheduler(config: Config, pipeline: PipelineContext, options: ScheduleOptions) {
  const { EtlQueue } = await import('../../queue/etl-queue.js')
  const { createQueueScheduler } = await import('../../queue/queue-scheduler.js')
  const { registerQueueMetrics } = await import('../../metrics/queue-metrics.js')
  const queue = EtlQueue.open(config.redisUrl!, config.queue.prefix, `coinpipe-serve ${RUN_OWNER}`)
  if (pipeline.metrics) registerQueueMetrics(pipeline.metrics.registry, queue)
  return {
    scheduler: createQueueScheduler(pipeline, queue, options),
    queue,
    closeQueue: () => queue.close(),
  }
}
