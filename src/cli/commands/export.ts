import { isDatabaseUnreachable } from '../../db/connection-error.js'
import { parseTimestamp } from '../../domain/parse-timestamp.js'
import { exportRecords, type ExportFormat } from '../../export/export-records.js'
import { openCliContext } from '../cli-context.js'
import { CliError } from '../cli-error.js'
import { EXIT } from '../exit-codes.js'

export interface ExportOptions {
  readonly format: ExportFormat
  readonly asset: readonly string[]
  readonly source?: string
  readonly from?: string
  readonly to?: string
  readonly out: string
}

/** `coinpipe export`: records of some assets and a time range to a CSV or Parquet file. */
export async function exportCommand(options: ExportOptions): Promise<number> {
  const from = timeOption('--from', options.from)
  const to = timeOption('--to', options.to)
  if (from !== undefined && to !== undefined && from >= to)
    throw new CliError(`--to (${to}) must be later than --from (${from})`, EXIT.CONFIG)
  const { pipeline, close } = await openCliContext()
  try {
    // An unknown asset throws AssetNotFoundError, which exits with EXIT.INPUT.
    const outcome = await exportRecords(pipeline.db.kysely, {
      format: options.format,
      assetIds: options.asset,
      source: options.source,
      from,
      to,
      out: options.out,
    }).catch((error: unknown) => {
      throw fileProblem(error, options.out) ?? error
    })
    console.log(
      `exported ${outcome.rows.toLocaleString('en-US')} record(s) to ${outcome.file} (${options.format}, ${outcome.bytes.toLocaleString('en-US')} bytes)`,
    )
    return EXIT.OK
  } finally {
    await close()
  }
}

function timeOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const parsed = parseTimestamp(value)
  if (parsed === undefined)
    throw new CliError(
      `${name} ${JSON.stringify(value)} is not a date or date-time (ISO 8601, or Unix seconds/milliseconds)`,
      EXIT.CONFIG,
    )
  return parsed
}

/** A file system failure writing `out` (no such folder, no permission, disk full) as one sentence. */
function fileProblem(error: unknown, out: string): CliError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code) || !(error instanceof Error)) return undefined
  if (isDatabaseUnreachable(error)) return undefined
  return new CliError(`cannot write ${out}: ${error.message}`, EXIT.INPUT)
}
