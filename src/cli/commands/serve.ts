import { buildApp } from '../../api/build-app.js'
import type { SourceName } from '../../config.js'
import { errorMessage } from '../../errors.js'
import { createInProcessScheduler } from '../../jobs/scheduler.js'
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
  await recoverInterruptedRuns(pipeline)

  const available = config.sources.enabled.filter((s): s is SourceName =>
    pipeline.sources.available.includes(s),
  )
  for (const source of config.sources.enabled.filter((s) => !available.includes(s))) {
    log.warn({ source }, 'source is enabled but not available in this build; it is skipped')
  }
  const scheduler = createInProcessScheduler(pipeline, {
    sources: available,
    schedules: config.etl.schedules,
    runOnStart: config.etl.runOnStart,
  })

  const app = await buildApp(config, pipeline, { runs: scheduler })
  try {
    await app.listen({ host: config.http.host, port: config.http.port })
  } catch (error) {
    // A taken port is an operator's problem, not a bug; and an open pool would keep the process alive.
    await app.close()
    await close()
    throw new CliError(
      `cannot listen on ${config.http.host}:${config.http.port} (check HOST and PORT): ${errorMessage(error)}`,
      EXIT.CONFIG,
    )
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  log.info(
    { url: `http://${config.http.host}:${port}`, database: redactUrl(config.database.url) },
    'coinpipe is serving',
  )
  scheduler.start()

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down: draining requests and letting the batch in flight commit')
    const force = setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS + 5_000).unref()
    try {
      await scheduler.stop(SHUTDOWN_TIMEOUT_MS)
      await app.close()
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
