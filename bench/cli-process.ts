import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const USAGE_PREFIX = 'BENCH_USAGE '
// Inline, so the measured process loads nothing of the benchmark's: on exit it reports its own peak
// RSS (KB) and CPU time (µs).
const REPORT_USAGE = `data:text/javascript,process.on('exit',()=>{const u=process.resourceUsage();process.stderr.write('${USAGE_PREFIX}'+u.maxRSS+' '+(u.userCPUTime+u.systemCPUTime)+'\\n')})`

/** One run of the compiled CLI as a user starts it: wall time from spawn to exit, peak RSS and CPU time. */
export interface CliRun {
  readonly seconds: number
  readonly maxRssMb: number
  readonly cpuSeconds: number
  readonly stdout: string
}

export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  nodeFlags: readonly string[] = [],
): Promise<CliRun> {
  const started = performance.now()
  const child = spawn(
    process.execPath,
    [...nodeFlags, '--import', REPORT_USAGE, 'dist/bin/coinpipe.js', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  return new Promise((resolveRun, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000
      const line = stderr.split('\n').find((l) => l.startsWith(USAGE_PREFIX))
      if (code !== 0 || line === undefined) {
        reject(new Error(`coinpipe ${args.join(' ')} exited with code ${code}: ${stderr.trim()}`))
        return
      }
      const [rssKb, cpuMicros] = line.slice(USAGE_PREFIX.length).split(' ').map(Number)
      resolveRun({ seconds, maxRssMb: rssKb! / 1024, cpuSeconds: cpuMicros! / 1e6, stdout })
    })
  })
}

/** The median wall time of `runs` runs, and the highest peak RSS any reached. */
export async function medianCliRun(
  runs: number,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const results: CliRun[] = []
  for (let i = 0; i < runs; i++) results.push(await runCli(args, env))
  const sorted = [...results].sort((a, b) => a.seconds - b.seconds)
  const median = sorted[Math.floor(sorted.length / 2)]!
  return { ...median, maxRssMb: Math.max(...results.map((r) => r.maxRssMb)) }
}

/** What `coinpipe etl run --json` prints. */
export interface RunSummary {
  readonly runs: readonly {
    readonly status: string
    readonly extracted: number
    readonly loaded: number
    readonly unchanged: number
    readonly rejected: number
    readonly batches: number
    readonly duration_ms: number
    readonly error_code: string | null
    readonly error_message: string | null
  }[]
}

/**
 * `coinpipe etl run --file <csv> --json` on `databaseUrl`, as a user runs it. Its time is the run's
 * own (start to finish of the import, as `duration_ms` reports it: no process start, no migration
 * check); peak RSS and CPU time are the whole process's.
 */
export async function runCliImport(
  databaseUrl: string,
  csv: string,
  opts: { batchRows?: string; nodeFlags?: readonly string[] } = {},
): Promise<{ run: CliRun; summary: RunSummary }> {
  const env: Record<string, string> = { DATABASE_URL: databaseUrl }
  if (opts.batchRows !== undefined) env.CSV_BATCH_ROWS = opts.batchRows
  const run = await runCli(['etl', 'run', '--file', csv, '--json'], env, opts.nodeFlags)
  return { run, summary: JSON.parse(run.stdout) as RunSummary }
}
