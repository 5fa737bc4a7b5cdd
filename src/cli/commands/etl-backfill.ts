import { AppError, RunAlreadyRunningError, ValidationError } from '../../errors.js'
import { checkBackfill, runBackfill, type BackfillRequest } from '../../pipeline/backfill.js'
import { recoverInterruptedRuns } from '../../pipeline/recover-runs.js'
import { openCliContext } from '../cli-context.js'
import { CliError } from '../cli-error.js'
import { EXIT } from '../exit-codes.js'
import { renderRunTable } from '../run-table.js'
import { runSummary } from './etl-run.js'

export interface EtlBackfillOptions extends BackfillRequest {
  readonly json: boolean
}

/**
 * `coinpipe etl backfill`: reads the past of some assets from a source's history, in this process,
 * as one run with trigger `backfill`, and prints its summary. Beside a running `serve` or workers
 * on the same database it is fine: a backfill runs beside the snapshot runs and yields the
 * upstream's rate limit to them (shared through Redis in queue mode). Ctrl-C stops after the
 * window in flight has committed; the same command resumes where it stopped.
 */
export async function etlBackfillCommand(options: EtlBackfillOptions): Promise<number> {
  try {
    checkBackfill(options, new Date())
  } catch (error) {
    if (error instanceof ValidationError)
      throw new CliError(`--${cliFlag(error.field)}: ${error.message}`, EXIT.CONFIG)
    throw error
  }
  const display =
    !options.json && process.stderr.isTTY
      ? (await import('../progress-display.js')).createProgressDisplay(process.stderr)
      : undefined
  const { log, pipeline, close } = await openCliContext({
    logLevel: options.json || display ? 'warn' : undefined,
    logDestination: display?.logStream,
  })
  const abort = new AbortController()
  const stop = (signal: NodeJS.Signals) => {
    log.warn({ signal }, 'stopping after the window in flight has committed; send it again to quit at once')
    abort.abort()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    await recoverInterruptedRuns(pipeline)
    display?.start(options.source)
    const run = await runBackfill(pipeline, options, {
      startedBy: 'cli',
      signal: abort.signal,
      onProgress: display && ((progress) => display.update(progress)),
    }).catch((error: unknown) => {
      if (error instanceof RunAlreadyRunningError)
        throw new CliError(
          `a backfill of ${options.source} is in progress; try again when it has finished`,
          EXIT.RUN_FAILED,
        )
      if (error instanceof AppError && error.code === 'SOURCE_UNKNOWN')
        throw new CliError(error.message, EXIT.INPUT)
      throw error
    })
    display?.finish(run)
    console.log(options.json ? JSON.stringify({ runs: [runSummary(run)] }, null, 2) : renderRunTable([run]))
    return run.status === 'failed' ? EXIT.RUN_FAILED : EXIT.OK
  } finally {
    display?.stop()
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await close()
  }
}

function cliFlag(field: string): string {
  return field === 'assets' ? 'asset' : field
}
