import type { LoadResult, LoadSettings } from './api-load.js'

/** DESIGN.md §8 and issue 10: the records page at ≥ 0.85× the bare route, p99 and deep pages as before. */
export const TARGETS = { ratio: 0.85, p99Ms: 50, deepRatio: 0.8 }

export interface DialectRun {
  readonly title: string
  readonly records: number
  readonly assets: number
  readonly timestamps: number
  readonly seedSeconds: number
  readonly where: string
  readonly baselineLabel: string
  /** First record of the deep page, 1-based, counted from the newest. */
  readonly deepFrom: number
  readonly rotation: number
  /** The machine's 1-minute load average as each round started (other work slows every row). */
  readonly loadAverages: readonly number[]
  /** coinpipe / bare req/s of each round. */
  readonly roundRatios: readonly number[]
  /** deep / first page req/s of each round. */
  readonly roundDeepRatios: readonly number[]
  readonly bare: LoadResult
  readonly first: LoadResult
  readonly deep: LoadResult
}

export interface Verdicts {
  readonly ratio: number
  readonly deepRatio: number
  /** bare / coinpipe server CPU per request: the ratio a machine with nothing else to do would show. */
  readonly cpuRatio: number | undefined
  readonly pass: {
    readonly ratio: boolean
    readonly p99First: boolean
    readonly p99Deep: boolean
    readonly deep: boolean
  }
}

export function verdicts(run: DialectRun): Verdicts {
  const ratio = run.first.requestsPerSecond / run.bare.requestsPerSecond
  const deepRatio = run.deep.requestsPerSecond / run.first.requestsPerSecond
  const bareCpu = cpuPerRequest(run.bare)
  const firstCpu = cpuPerRequest(run.first)
  return {
    ratio,
    deepRatio,
    cpuRatio: bareCpu === undefined || firstCpu === undefined ? undefined : bareCpu / firstCpu,
    pass: {
      ratio: ratio >= TARGETS.ratio,
      p99First: run.first.p99Ms < TARGETS.p99Ms,
      p99Deep: run.deep.p99Ms < TARGETS.p99Ms,
      deep: deepRatio >= TARGETS.deepRatio,
    },
  }
}

/** Server CPU time per answered request, in µs. */
export function cpuPerRequest(r: LoadResult): number | undefined {
  return r.serverCpuMs === undefined || r.requests === 0 ? undefined : (r.serverCpuMs * 1000) / r.requests
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')
const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1)
const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS')
const byRound = (ratios: readonly number[]) =>
  ratios.length > 1 ? `   (by round: ${ratios.map((r) => r.toFixed(2)).join(', ')})` : ''

export function formatRun(run: DialectRun, settings: LoadSettings): string {
  const v = verdicts(run)
  const head = ['', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'KB/resp', 'requests', 'CPU µs/req']
  const row = (label: string, r: LoadResult) => [
    label,
    int(r.requestsPerSecond),
    ms(r.p50Ms),
    ms(r.p90Ms),
    ms(r.p99Ms),
    ms(r.maxMs),
    (r.bytesPerRequest / 1024).toFixed(1),
    int(r.requests),
    cpuPerRequest(r)?.toFixed(0) ?? '?',
  ]
  const deepTo = run.deepFrom + 99
  const rows = [
    head,
    row(run.baselineLabel, run.bare),
    row('coinpipe GET /api/v1/records?asset=…&limit=100', run.first),
    row(`coinpipe same, cursor at records ${int(run.deepFrom)}–${int(deepTo)}`, run.deep),
  ]
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  const table = rows.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  )
  return [
    `${run.title}: ${int(run.records)} records (${int(run.assets)} assets × ${int(run.timestamps)} hours), ` +
      `seeded in ${run.seedSeconds.toFixed(1)} s (${run.where})`,
    `  ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s ` +
      `per row and round, ${settings.rounds} round(s), requests rotating over ${run.rotation} assets; ` +
      `load average ${run.loadAverages.map((l) => l.toFixed(2)).join(', ')} at round start`,
    ...table.map((line) => `  ${line}`),
    `  coinpipe / bare req/s        ${v.ratio.toFixed(2).padStart(6)}   target ≥ ${TARGETS.ratio}   ${mark(v.pass.ratio)}` +
      (run.roundRatios.length > 1
        ? `   (by round: ${run.roundRatios.map((r) => r.toFixed(2)).join(', ')})`
        : ''),
    `  p99, first page              ${ms(run.first.p99Ms).padStart(6)}   target < ${TARGETS.p99Ms} ms ${mark(v.pass.p99First)}`,
    `  p99, deep cursor page        ${ms(run.deep.p99Ms).padStart(6)}   target < ${TARGETS.p99Ms} ms ${mark(v.pass.p99Deep)}`,
    `  deep / first page req/s      ${v.deepRatio.toFixed(2).padStart(6)}   target ≈ 1 (≥ ${TARGETS.deepRatio}) ${mark(v.pass.deep)}` +
      byRound(run.roundDeepRatios),
    ...(v.cpuRatio === undefined
      ? []
      : [
          `  bare / coinpipe server CPU per request ${v.cpuRatio.toFixed(2)}: the req/s ratio when the server's ` +
            `CPU is the bottleneck, little moved by other load on the machine`,
        ]),
  ].join('\n')
}

/** Failures (non-2xx, errors, timeouts) of a run's measurements, one line each; empty when clean. */
export function failureLines(run: DialectRun): string[] {
  return (
    [
      ['bare', run.bare],
      ['coinpipe first page', run.first],
      ['coinpipe deep page', run.deep],
    ] as const
  )
    .filter(([, r]) => Object.keys(r.failures).length > 0)
    .map(([label, r]) => `${run.title} ${label}: ${JSON.stringify(r.failures)}`)
}
