import { existsSync } from 'node:fs'
import type { EtlRunRow } from '../../db/schema.js'
import { RunAlreadyRunningError } from '../../errors.js'
import { recoverInterruptedRuns } from '../../pipeline/recover-runs.js'
import { runSource, type RunProgress } from '../../pipeline/run-pipeline.js'
import { CliError, openCliContext } from '../cli-context.js'
import { EXIT } from '../exit-codes.js'

export interface EtlRunOptions {
  readonly source: string[]
  readonly file: string[]
  readonly json: boolean
}

/** `coinpipe etl run`: run sources now, print a summary; exit 1 when any run failed. */
export async function etlRunCommand(options: EtlRunOptions): Promise<number> {
  for (const file of options.file) {
    if (!existsSync(file)) throw new CliError(`file not found: ${file}`, EXIT.INPUT)
  }
  const { config, pipeline, close } = await openCliContext({ logLevel: options.json ? 'warn' : undefined })
  try {
    const requested =
      options.source.length > 0 ? options.source : options.file.length > 0 ? ['csv'] : config.sources.enabled
    const sources =
      options.source.length > 0 ? requested : requested.filter((s) => pipeline.sources.available.includes(s))
    for (const source of sources) pipeline.sources.get(source)
    if (options.file.length > 0 && sources.some((s) => s !== 'csv')) {
      throw new CliError('--file can only be used with --source csv', EXIT.CONFIG)
    }
    await recoverInterruptedRuns(pipeline)

    const abort = new AbortController()
    const stop = () => abort.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    const runs: EtlRunRow[] = []
    const progress = !options.json && process.stderr.isTTY ? progressPrinter() : undefined
    try {
      for (const source of sources) {
        try {
          runs.push(
            await runSource(pipeline, source, {
              trigger: 'cli',
              files: source === 'csv' && options.file.length > 0 ? options.file : undefined,
              signal: abort.signal,
              onProgress: progress,
            }),
          )
        } catch (error) {
          if (error instanceof RunAlreadyRunningError)
            throw new CliError(`${error.message}; try again when it has finished`, EXIT.RUN_FAILED)
          throw error
        }
        if (progress) process.stderr.write('\n')
      }
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
    console.log(
      options.json
        ? JSON.stringify({ runs: runs.map(runSummary) }, null, 2)
        : runs.map(describeRun).join('\n'),
    )
    return runs.some((r) => r.status === 'failed') ? EXIT.RUN_FAILED : EXIT.OK
  } finally {
    await close()
  }
}

function progressPrinter(): (p: RunProgress) => void {
  const started = Date.now()
  return (p) => {
    const seconds = (Date.now() - started) / 1000
    const rate = seconds > 0 ? Math.round(p.extracted / seconds) : 0
    process.stderr.write(
      `\r  ${p.extracted.toLocaleString()} rows · ${rate.toLocaleString()} rows/s · ${p.batches} batches · ${p.loaded.toLocaleString()} loaded · ${p.rejected} rejected   `,
    )
  }
}

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
    duration_ms: run.durationMs,
    error_code: run.errorCode,
    error_message: run.errorMessage,
  }
}

function describeRun(run: EtlRunRow): string {
  const seconds = ((run.durationMs ?? 0) / 1000).toFixed(2)
  const lines = [
    `run ${run.id} · ${run.source} · ${run.status} in ${seconds}s`,
    `  ${run.extracted} rows read in ${run.batches} batches: ${run.loaded} loaded, ${run.unchanged} unchanged, ${run.rejected} rejected`,
  ]
  if (run.rejected > 0) lines.push(`  see the rejected rows: GET /api/v1/rejections?run_id=${run.id}`)
  if (run.errorCode) lines.push(`  ${run.errorCode}: ${run.errorMessage ?? ''}`)
  return lines.join('\n')
}
