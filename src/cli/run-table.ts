import type { EtlRunRow } from '../db/schema.js'
import { count } from './progress-line.js'

type Column = readonly [title: string, align: 'left' | 'right', cell: (run: EtlRunRow) => string]

const COLUMNS: readonly Column[] = [
  ['run', 'right', (r) => String(r.id)],
  ['source', 'left', (r) => r.source],
  ['status', 'left', (r) => r.status],
  ['rows', 'right', (r) => count(r.extracted)],
  ['loaded', 'right', (r) => count(r.loaded)],
  ['unchanged', 'right', (r) => count(r.unchanged)],
  ['rejected', 'right', (r) => count(r.rejected)],
  ['batches', 'right', (r) => count(r.batches)],
  ['duration', 'right', (r) => `${((r.durationMs ?? 0) / 1000).toFixed(2)}s`],
  ['error', 'left', (r) => r.errorCode ?? '-'],
]

/**
 * The summary `etl run` prints for a person, pure: one aligned row per run, then what to do about
 * errors and rejected rows.
 */
export function renderRunTable(runs: readonly EtlRunRow[]): string {
  if (runs.length === 0) return 'no sources to run'
  const cells = runs.map((run) => COLUMNS.map(([, , cell]) => cell(run)))
  const widths = COLUMNS.map(([title], c) => Math.max(title.length, ...cells.map((row) => row[c]!.length)))
  const line = (values: readonly string[]) =>
    values
      .map((value, c) => (COLUMNS[c]![1] === 'right' ? value.padStart(widths[c]!) : value.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd()
  const lines = [line(COLUMNS.map(([title]) => title)), ...cells.map(line)]
  for (const run of runs) {
    if (run.errorCode) lines.push(`${run.source}: ${run.errorCode}: ${run.errorMessage ?? ''}`.trimEnd())
    if (run.rejected > 0)
      lines.push(`${run.source}: see the rejected rows with GET /api/v1/rejections?run_id=${run.id}`)
  }
  return lines.join('\n')
}
