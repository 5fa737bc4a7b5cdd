import type { SourceName } from '../../config.js'
import { redactUrl } from '../../redact-secrets.js'
import { openCliContext } from '../cli-context.js'
import { EXIT } from '../exit-codes.js'

/** How long SIGTERM waits for the batches in flight to commit before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 25_000

/**
 * `coinpipe worker`: takes ETL jobs from the queue in Redis until SIGTERM or SIGINT, which let the
 * batch in flight commit and hand the job back for another worker.
 */
export async function workerCommand(options: { concurrency: number | undefined }): Promise<void> {
  const { config, log, pipeline, close } = await openCliContext({
    logTo: 'stdout',
    redisRequired:
      'coinpipe worker needs REDIS_URL (the queue it takes jobs from); without it, `coinpipe serve` runs the ETL in-process',
  })
  if (config.redisUrl === undefined) throw new Error('unreachable: openCliContext checked REDIS_URL')
  const available = config.sources.enabled.filter((s): s is SourceName =>
    pipeline.sources.available.includes(s),
  )
  const { startEtlWorker } = await import('../../queue/etl-worker.js')
  const worker = startEtlWorker(pipeline, {
    redisUrl: config.redisUrl,
    prefix: config.queue.prefix,
    leaseMs: config.queue.leaseMs,
    // One job per source at a time is all the queue ever gives a source, so more would sit idle.
    concurrency: options.concurrency ?? Math.max(1, available.length),
  })
  log.info(
    {
      redis: redactUrl(config.redisUrl),
      database: redactUrl(config.database.url),
      prefix: config.queue.prefix,
    },
    'coinpipe worker is taking jobs',
  )

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'worker stopping: letting the batch in flight commit, then handing its job back')
    const force = setTimeout(() => {
      log.error('worker did not stop in time; exiting')
      process.exit(EXIT.INTERNAL)
    }, SHUTDOWN_TIMEOUT_MS).unref()
    try {
      await worker.close()
      await close()
      log.info('worker stopped')
    } catch (error) {
      log.error({ err: error }, 'worker shutdown did not complete cleanly')
      process.exitCode = EXIT.INTERNAL
    } finally {
      clearTimeout(force)
    }
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}
