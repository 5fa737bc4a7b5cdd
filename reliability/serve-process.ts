import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { cliEnv, REPO_ROOT, startCli, type StartedProcess } from '../test/helpers/cli.js'

/**
 * What the load and fuzz scenarios share: `coinpipe serve` (and `worker`) as child processes on a
 * port of their own, their resident memory sampled from /proc, the fake upstream in its own
 * process, and latency percentiles.
 */

export interface CoinpipeChild {
  readonly proc: StartedProcess
  readonly pid: number
  /** SIGTERM, a clean exit awaited for up to 30 s, then SIGKILL; idempotent. */
  stop(): Promise<void>
}

export interface ServeChild extends CoinpipeChild {
  readonly baseUrl: string
}

const START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 30_000

/** `coinpipe <args>` (dist/) in its own process group, with `cliEnv(vars)`. */
export function startCoinpipe(
  args: readonly string[],
  vars: Record<string, string>,
  cwd: string,
): CoinpipeChild {
  const proc = startCli(args, { cwd, env: cliEnv(vars) })
  let stopping: Promise<void> | undefined
  const stop = () =>
    (stopping ??= (async () => {
      if (proc.exitedYet()) return
      proc.child.kill('SIGTERM')
      const timer = setTimeout(() => killGroup(proc.pid), STOP_TIMEOUT_MS)
      await proc.exited
      clearTimeout(timer)
      // Whatever it left behind in its group.
      killGroup(proc.pid)
    })())
  return { proc, pid: proc.pid, stop }
}

/** `coinpipe serve` on a free port of 127.0.0.1, once `/health` answers (whatever its status). */
export async function startServe(vars: Record<string, string>, cwd: string): Promise<ServeChild> {
  const port = await freePort()
  const child = startCoinpipe(['serve'], { ...vars, HOST: '127.0.0.1', PORT: String(port) }, cwd)
  const baseUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (child.proc.exitedYet()) {
      const { code, signal, stderr, stdout } = await child.proc.exited
      throw new Error(`coinpipe serve exited (${signal ?? code}) before answering:\n${stderr}${stdout}`)
    }
    try {
      await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) })
      return { ...child, baseUrl }
    } catch {
      if (Date.now() > deadline) {
        await child.stop()
        throw new Error(`coinpipe serve did not answer on ${baseUrl} within ${START_TIMEOUT_MS / 1000} s`)
      }
      await sleep(200)
    }
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

/** A port nothing listens on right now (the kernel's pick, released for the child to take). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })
}

/** Resident set size of a process in MB (VmRSS of /proc/<pid>/status), `undefined` once it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

export interface RssSample {
  /** Milliseconds since the sampler started. */
  readonly atMs: number
  readonly mb: number
}

/** Samples a process's RSS every `intervalMs` until `stop()`. */
export function sampleRss(pid: number, intervalMs: number) {
  const samples: RssSample[] = []
  const started = performance.now()
  const take = () => {
    const mb = rssMb(pid)
    if (mb !== undefined) samples.push({ atMs: performance.now() - started, mb })
  }
  take()
  const timer = setInterval(take, intervalMs)
  return {
    samples,
    /** Milliseconds since the sampler started. */
    elapsedMs: () => performance.now() - started,
    stop() {
      clearInterval(timer)
      take()
      return samples
    },
  }
}

/**
 * Whether memory stopped growing over the second half of a stretch: the highest RSS of its last
 * quarter against the highest of its second quarter (the first quarter is warm-up: V8 sizing its
 * heap, caches and pools filling). Maxima, not means, because RSS is a sawtooth between
 * collections and its peaks are what a leak raises; quarters, not single samples, so one
 * collection landing just before the end proves nothing either way.
 */
export function rssGrowth(samples: readonly RssSample[], fromMs: number, toMs: number) {
  const quarter = (toMs - fromMs) / 4
  const maxIn = (q: number) =>
    Math.max(
      ...samples
        .filter((s) => s.atMs >= fromMs + q * quarter && s.atMs < fromMs + (q + 1) * quarter)
        .map((s) => s.mb),
    )
  const secondQuarterMaxMb = maxIn(1)
  const lastQuarterMaxMb = maxIn(3)
  const lastHalf = samples.filter((s) => s.atMs >= fromMs + 2 * quarter && s.atMs <= toMs)
  return {
    secondQuarterMaxMb,
    lastQuarterMaxMb,
    ratio: lastQuarterMaxMb / secondQuarterMaxMb,
    /** Least-squares slope over the last half, MB per minute (reported, not judged: GC sawtooth). */
    lastHalfSlopeMbPerMin: slope(lastHalf.map((s) => [s.atMs / 60_000, s.mb] as const)),
    samples: samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs).length,
  }
}

function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : sxy / sxx
}

/** The `p`th percentile (0–100) of `values`, nearest rank; 0 when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export interface FakeUpstream {
  readonly coingeckoUrl: string
  readonly coinpaprikaUrl: string
  /** Moves its clock: most coins get a new last_updated, so the next run loads new records. */
  advance(ms: number): Promise<void>
  stop(): Promise<void>
}

/** `bench/fake-upstream-process.ts` in a process of its own, so its CPU is not the server's. */
export async function startFakeUpstream(markets: number, tickers: number): Promise<FakeUpstream> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/fake-upstream-process.ts', String(markets), String(tickers)],
    { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const nextLine = async () => {
    const line = await lines.next()
    if (line.done) throw new Error('the fake upstream exited')
    return line.value
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolveExit) => child.once('exit', resolveExit))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  try {
    const urls = JSON.parse(await nextLine()) as { coingeckoUrl: string; coinpaprikaUrl: string }
    let advancing = Promise.resolve()
    return {
      ...urls,
      advance(ms) {
        advancing = advancing.then(async () => {
          child.stdin.write(`advance ${ms}\n`)
          await nextLine()
        })
        return advancing
      },
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * `NODE_OPTIONS` for a child whose live heap `liveHeapMb` can measure: on SIGUSR2 V8 collects
 * garbage and writes a heap snapshot into `dir`.
 */
export function heapSnapshotOptions(dir: string): string {
  mkdirSync(dir, { recursive: true })
  return `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`
}

/**
 * The size of a heap snapshot of `child` (started with `heapSnapshotOptions(dir)`), in MB: after a
 * full collection, so it follows the objects still reachable, which is what a leak grows. RSS does
 * not tell a leak from V8 letting its heap grow between collections (seen: RSS ×1.25 over 10,000
 * fuzzed requests while the snapshots stayed flat). The snapshot is written on the child's main
 * thread, so once `/health` answers after the file appeared, it is whole.
 */
export async function liveHeapMb(child: ServeChild, dir: string): Promise<number> {
  const before = new Set(readdirSync(dir))
  process.kill(child.pid, 'SIGUSR2')
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    const written = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f))
    if (written) {
      await fetch(`${child.baseUrl}/health`, { signal: AbortSignal.timeout(START_TIMEOUT_MS) })
      const path = join(dir, written)
      const mb = statSync(path).size / 1024 / 1024
      rmSync(path, { force: true })
      return mb
    }
    if (Date.now() > deadline)
      throw new Error(`no heap snapshot of pid ${child.pid} within ${START_TIMEOUT_MS / 1000} s`)
    await sleep(100)
  }
}

/** How long `runsEnded` waits for runs to end: an offline run is still paced by the outbound limiter. */
const RUNS_END_TIMEOUT_MS = 120_000

/**
 * Waits until `child` has no run in status `running` (`GET /api/v1/runs?status=running`, with
 * `headers` to authenticate), and resolves with the milliseconds it waited; throws naming the runs
 * still running after `timeoutMs`. A heap snapshot taken while a run is in flight (a backfill
 * waiting its turn at the outbound limiter holds its run's state for tens of seconds) would count
 * that run's state at one end of a comparison and not at the other.
 */
export async function runsEnded(
  child: ServeChild,
  headers: Readonly<Record<string, string>>,
  timeoutMs = RUNS_END_TIMEOUT_MS,
): Promise<number> {
  const started = Date.now()
  for (;;) {
    const response = await fetch(`${child.baseUrl}/api/v1/runs?status=running&limit=100`, {
      headers,
      signal: AbortSignal.timeout(START_TIMEOUT_MS),
    })
    const text = await response.text()
    if (response.status !== 200)
      throw new Error(`GET /api/v1/runs?status=running answered ${response.status}: ${text.slice(0, 500)}`)
    const running = (JSON.parse(text) as { data: { id: number; source: string; trigger: string }[] }).data
    if (running.length === 0) return Date.now() - started
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `runs still running ${Math.round(timeoutMs / 1000)} s on: ${running.map((r) => `${r.id} (${r.source}, ${r.trigger})`).join(', ')}`,
      )
    await sleep(250)
  }
}
