import type { CliRun } from './cli-process.js'
import type { PhaseResult } from './measure.js'

/** DESIGN.md §8, CSV import, as tightened by issue 10. */
export const TARGETS = {
  minThroughputRatio: 0.8,
  maxPeakRssMb: 200,
  minSecondImportSpeedup: 20,
  /** `coinpipe etl run --file` on a file already imported: whole process, spawn to exit. */
  maxNoopRssMb: 100,
  maxStartupSeconds: 0.3,
} as const

export interface CoinpipeRuns {
  readonly batchRows: number
  readonly first: PhaseResult
  readonly second: PhaseResult
}

export interface DialectReport {
  readonly title: string
  readonly where: string
  readonly rows: number
  /** How many times each phase ran; the tables show the fastest run and the highest peak RSS. */
  readonly repeat: number
  readonly baseline: { readonly label: string; readonly result: PhaseResult }
  readonly coinpipe: readonly CoinpipeRuns[]
  /** The CLI re-importing the file it already holds (median time, highest peak RSS). */
  readonly noop: CliRun | undefined
  /** The import of a much larger file, for its peak RSS. */
  readonly large: { readonly rows: number; readonly result: PhaseResult } | undefined
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export function formatInt(n: number): string {
  return int.format(n)
}

export function rowsPerSecond(rows: number, result: PhaseResult): number {
  return rows / result.seconds
}

/** One dialect: every phase, then each target with its verdict. */
export function formatDialectReport(report: DialectReport): string {
  const { rows, baseline } = report
  const phases: string[][] = [
    ['phase', 'rows', 'seconds', 'rows/s', 'CPU s', 'peak RSS MB'],
    phaseRow(baseline.label, rows, baseline.result),
  ]
  for (const { batchRows, first, second } of report.coinpipe) {
    phases.push(phaseRow(`coinpipe etl run --file (CSV_BATCH_ROWS=${batchRows})`, rows, first))
    phases.push(
      phaseRow(`coinpipe etl run, same file again (CSV_BATCH_ROWS=${batchRows})`, rows, second, false),
    )
  }

  if (report.large) {
    phases.push(
      phaseRow(
        `coinpipe etl run --file, ${formatInt(report.large.rows)} rows`,
        report.large.rows,
        report.large.result,
      ),
    )
  }
  if (report.noop) {
    phases.push([
      'CLI: coinpipe etl run --file (no-op re-import)',
      '0',
      report.noop.seconds.toFixed(2),
      '-',
      '-',
      report.noop.maxRssMb.toFixed(0),
    ])
  }

  const targets: string[][] = [['target', 'measured', 'target', 'result']]
  for (const { batchRows, first, second } of report.coinpipe) {
    const ratio = rowsPerSecond(rows, first) / rowsPerSecond(rows, baseline.result)
    const speedup = first.seconds / second.seconds
    const suffix = report.coinpipe.length > 1 ? ` (batch ${batchRows})` : ''
    targets.push(
      verdict(
        `rows/s coinpipe ÷ baseline${suffix}`,
        `${ratio.toFixed(2)}×`,
        `≥ ${TARGETS.minThroughputRatio}×`,
        ratio >= TARGETS.minThroughputRatio,
      ),
      verdict(
        `peak RSS of the import${suffix}`,
        `${first.maxRssMb.toFixed(0)} MB`,
        `< ${TARGETS.maxPeakRssMb} MB`,
        first.maxRssMb < TARGETS.maxPeakRssMb,
      ),
      verdict(
        `second import speed-up${suffix}`,
        `${speedup.toFixed(1)}×`,
        `≥ ${TARGETS.minSecondImportSpeedup}×`,
        speedup >= TARGETS.minSecondImportSpeedup,
      ),
    )
  }
  if (report.large) {
    const rss = report.large.result.maxRssMb
    targets.push(
      verdict(
        `peak RSS, ${formatInt(report.large.rows)} rows`,
        `${rss.toFixed(0)} MB`,
        `< ${TARGETS.maxPeakRssMb} MB`,
        rss < TARGETS.maxPeakRssMb,
      ),
    )
  }
  if (report.noop) {
    const { seconds, maxRssMb } = report.noop
    targets.push(
      verdict(
        'no-op re-import, peak RSS',
        `${maxRssMb.toFixed(0)} MB`,
        `< ${TARGETS.maxNoopRssMb} MB`,
        maxRssMb < TARGETS.maxNoopRssMb,
      ),
      verdict(
        'no-op re-import, start to exit',
        `${(seconds * 1000).toFixed(0)} ms`,
        `< ${TARGETS.maxStartupSeconds * 1000} ms`,
        seconds < TARGETS.maxStartupSeconds,
      ),
    )
  }
  const runs = report.repeat > 1 ? `, best of ${report.repeat} runs, highest peak RSS` : ''
  return [
    `${report.title}: ${formatInt(rows)} rows (${report.where}${runs})`,
    table(phases),
    "seconds: the import alone (coinpipe: the run's duration_ms, without process start); CPU s and peak RSS: the whole\nprocess (coinpipe: the `coinpipe` command as a user runs it); a database server is in neither",
    '',
    table(targets),
  ].join('\n')
}

/** The batch size whose first import was fastest, when several were tried. */
export function fastestBatchRows(runs: readonly CoinpipeRuns[]): CoinpipeRuns | undefined {
  return [...runs].sort((a, b) => a.first.seconds - b.first.seconds)[0]
}

function phaseRow(label: string, fileRows: number, result: PhaseResult, withRate = true): string[] {
  return [
    label,
    formatInt(result.rows),
    result.seconds.toFixed(2),
    withRate ? formatInt(rowsPerSecond(fileRows, result)) : '-',
    result.cpuSeconds.toFixed(2),
    result.maxRssMb.toFixed(0),
  ]
}

function verdict(label: string, measured: string, target: string, pass: boolean): string[] {
  return [label, measured, target, pass ? 'PASS' : 'MISS']
}

/** First column left-aligned, the others right-aligned. */
function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  const line = (r: readonly string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')
  const [head, ...body] = rows
  return [line(head!), widths.map((w) => '-'.repeat(w)).join('   '), ...body.map(line)].join('\n')
}

/** `coinpipe --help`, spawn to exit. */
export function formatHelpTiming(run: CliRun): string {
  const ms = run.seconds * 1000
  return table([
    ['target', 'measured', 'target', 'result'],
    verdict(
      'coinpipe --help, start to exit',
      `${ms.toFixed(0)} ms`,
      `< ${TARGETS.maxStartupSeconds * 1000} ms`,
      ms < TARGETS.maxStartupSeconds * 1000,
    ),
  ])
}
