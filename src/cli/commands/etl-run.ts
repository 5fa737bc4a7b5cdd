import { existsSync } from 'node:fs'
import type { EtlRunRow } from '../../db/schema.js'
import { RunAlreadyRunningError } from '../../errors.js'
import { recoverInterruptedRuns } from '../../pipeline/recover-runs.js'
import { runSource } from '../../pipeline/run-pipeline.js'
import { openCliContext } from '../cli-context.js'
import { CliError } from '../cli-error.js'
import { EXIT } from '../exit-codes.js'
import { renderRunTable } from '../run-table.js'

export interface EtlRunOptions {
  readonly source: string[]
  readonly file: string[]
  readonly json: boolean
}

/**
 * `coinpipe etl run`: run sources now, one after the other, and print a summary; exit 1 when any
 * run failed. SIGINT or SIGTERM stops after the batch in flight has committed (the run ends
 * `partial`, `RUN_CANCELLED`) and starts no further source; a second signal quits at once.
 */
export async function etlRunCommand(options: EtlRunOptions): Promise<number> {
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
    await recoverInterruptedRuns(pipeline)

    const abort = new AbortController()
    // `once`: the second signal finds no listener and Node's default ends the process at once.
    const stop = (signal: NodeJS.Signals) => {
      log.warn({ signal }, 'stopping after the batch in flight has committed; send it again to quit at once')
      abort.abort()
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    const runs: EtlRunRow[] = []
    try {
      for (const source of sources) {
        if (abort.signal.aborted) break
        display?.start(source)
        let run: EtlRunRow
        try {
          run = await runSource(pipeline, source, {
            trigger: 'cli',
            files: source === 'csv' && options.file.length > 0 ? options.file : undefined,
            signal: abort.signal,
            onProgress: display && ((progress) => display.update(progress)),
          })
        } catch (error) {
          if (error instanceof RunAlreadyRunningError)
            throw new CliError(`${error.message}; try again when it has finished`, EXIT.RUN_FAILED)
          throw error
        }
        display?.finish(run)
        runs.push(run)
      }
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
