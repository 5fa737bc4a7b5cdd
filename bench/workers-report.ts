import type { JobTiming } from './bare-queue.js'
import type { QueuedRunResult } from './etl-runners.js'

/** Runs measured together: one cycle, or a whole backlog. */
export interface Stretch {
  readonly seconds: number
  readonly runs: number
  /** New records the runs wrote. */
  readonly loaded: number
}

/** One mode (in-process, or N workers): its measured cycles and its backlog. */
export interface ModeResult {
  readonly label: string
  /** Untimed cycles first: the one that creates every asset, then until every process ran each source. */
  readonly warmUpCycles: number
  readonly cycles: readonly Stretch[]
  readonly backlog: Stretch
}

export interface OverheadResult {
  readonly workers: number
  readonly coinpipe: readonly QueuedRunResult[]
  readonly bare: readonly JobTiming[]
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number) => `${n.toFixed(n < 10 ? 1 : 0)} ms`

export function formatCycles(modes: readonly ModeResult[]): string[] {
  const base = throughput(modes[0]!.cycles)
  const rows = modes.map((mode) => {
    const t = throughput(mode.cycles)
    return [
      mode.label,
      String(mode.warmUpCycles),
      median(mode.cycles.map((c) => c.seconds)).toFixed(3),
      t.perSecond.toFixed(2),
      int(t.recordsPerSecond),
      int(median(mode.cycles.map((c) => c.loaded))),
      `${(t.recordsPerSecond / base.recordsPerSecond).toFixed(2)}×`,
    ]
  })
  return table(
    ['', 'warm-up', 'median s', 'cycles/s', 'new records/s', 'new records/cycle', '÷ in-process'],
    rows,
  )
}

export function formatBacklog(modes: readonly ModeResult[]): string[] {
  const base = throughput([modes[0]!.backlog])
  const rows = modes.map((mode) => {
    const b = mode.backlog
    const t = throughput([b])
    return [
      mode.label,
      int(b.runs),
      b.seconds.toFixed(2),
      (b.runs / b.seconds).toFixed(2),
      int(t.recordsPerSecond),
      `${(t.recordsPerSecond / base.recordsPerSecond).toFixed(2)}×`,
    ]
  })
  return table(['', 'runs', 'seconds', 'runs/s', 'new records/s', '÷ in-process'], rows)
}

export function formatOverhead({ coinpipe, bare }: OverheadResult): string[] {
  const overhead = coinpipe.map((r) => r.timing.totalMs - r.runMs)
  const settled = coinpipe.flatMap((r) => (r.settledMs === undefined ? [] : [r.settledMs - r.runMs]))
  const around = coinpipe.map((r) => r.timing.processedMs - r.runMs)
  const stat = (values: readonly number[]) => [ms(median(values)), ms(percentile(values, 95))]
  const ratio = median(overhead) / median(bare.map((b) => b.totalMs))
  return [
    ...table(
      ['', 'median', 'p95'],
      [
        ['coinpipe job: enqueue → completed, minus its run', ...stat(overhead)],
        [
          '  waiting to be taken (BullMQ timestamps, whole ms)',
          ...stat(coinpipe.map((r) => r.timing.waitedMs)),
        ],
        ['  in the worker around the run (lease, recovery, bookkeeping)', ...stat(around)],
        ['bare BullMQ: add → completed, no-op processor', ...stat(bare.map((b) => b.totalMs))],
        ['  waiting to be taken (BullMQ timestamps, whole ms)', ...stat(bare.map((b) => b.waitedMs))],
        ['the runs themselves (started_at → finished_at)', ...stat(coinpipe.map((r) => r.runMs))],
        ['EtlQueue.settled() (polls every 100 ms): enqueue → resolved, minus the run', ...stat(settled)],
      ],
    ),
    `  coinpipe ÷ bare overhead per job (medians): ${ratio.toFixed(1)}×`,
  ]
}

function throughput(stretches: readonly Stretch[]) {
  const seconds = stretches.reduce((n, s) => n + s.seconds, 0)
  const loaded = stretches.reduce((n, s) => n + s.loaded, 0)
  return { perSecond: stretches.length / seconds, recordsPerSecond: loaded / seconds }
}

/** Rows of cells, the first column left-aligned and the others right-aligned, indented by two. */
function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [head, ...rows]
  const widths = head.map((_, c) => Math.max(...all.map((r) => r[c]!.length)))
  return all.map(
    (r) =>
      `  ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')}`,
  )
}

export function median(values: readonly number[]): number {
  return percentile(values, 50)
}

/** Nearest-rank percentile: the smallest value with at least `p` % of the values at or below it. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0
}
