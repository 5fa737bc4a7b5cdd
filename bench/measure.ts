import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

/** What one measured phase reports from its own process. */
export interface PhaseResult {
  /** Wall time of the work alone, without process start-up or module loading. */
  readonly seconds: number
  /** CPU time (user + system) of the child during the work: the in-process share, immune to waiting. */
  readonly cpuSeconds: number
  /** Peak resident set size of the whole child process. */
  readonly maxRssMb: number
  /** Rows the phase wrote. */
  readonly rows: number
  readonly detail: Readonly<Record<string, unknown>>
}

export interface PhaseWork {
  readonly rows: number
  readonly detail?: Record<string, unknown>
}

const RESULT_PREFIX = 'BENCH_RESULT '
const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const PHASE_SCRIPT = resolve(BENCH_DIR, 'ingest-phase.ts')

/** Child side: times `work` and prints its result as one line the parent picks up. */
export async function reportPhase(work: () => Promise<PhaseWork>): Promise<void> {
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  const { rows, detail = {} } = await work()
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  const maxRssMb = process.resourceUsage().maxRSS / 1024
  const result: PhaseResult = { seconds, cpuSeconds, maxRssMb, rows, detail }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
}

/**
 * Parent side: runs `bench/ingest-phase.ts <args…>` in a fresh Node process, so each phase's peak
 * RSS is its own. With `cpuProfile`, the child also writes a V8 CPU profile (`dir/name`).
 */
export function runPhase(
  args: readonly string[],
  opts: { cpuProfile?: { dir: string; name: string } } = {},
): Promise<PhaseResult> {
  const { cpuProfile } = opts
  const profile = cpuProfile
    ? ['--cpu-prof', '--cpu-prof-dir', cpuProfile.dir, '--cpu-prof-name', cpuProfile.name]
    : []
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', PHASE_SCRIPT, ...args], {
    cwd: resolve(BENCH_DIR, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let stdout = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (text: string) => (stdout += text))
  return new Promise((resolvePhase, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
      if (code !== 0 || line === undefined) {
        const how = signal === null ? `code ${code}` : `signal ${signal}`
        reject(new Error(`phase "${args.join(' ')}" exited with ${how}${line ? '' : ' and no result'}`))
        return
      }
      resolvePhase(JSON.parse(line.slice(RESULT_PREFIX.length)) as PhaseResult)
    })
  })
}

/** The fastest of several runs of one phase, with the highest peak RSS any of them reached. */
export function bestOf(results: readonly PhaseResult[]): PhaseResult {
  const fastest = results.reduce((best, r) => (r.seconds < best.seconds ? r : best))
  return { ...fastest, maxRssMb: Math.max(...results.map((r) => r.maxRssMb)) }
}
