import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

/** The part of autocannon's API the benchmark uses (the package ships no types). */
interface AutocannonRequest {
  method: 'GET'
  path?: string
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest
}

interface AutocannonOptions {
  url: string
  connections: number
  pipelining: number
  duration: number
  timeout: number
  requests: AutocannonRequest[]
}

interface AutocannonHistogram {
  average: number
  p50: number
  p90: number
  p99: number
  max: number
  total: number
}

interface AutocannonResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  '2xx': number
  statusCodeStats: Record<string, { count: number }>
  latency: AutocannonHistogram
  requests: AutocannonHistogram
  throughput: AutocannonHistogram
}

const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: AutocannonOptions,
) => Promise<AutocannonResult>

export interface LoadSettings {
  readonly connections: number
  /** Rounds of (bare, first page, deep page), interleaved so a busy neighbour hurts all three alike. */
  readonly rounds: number
  readonly warmupSeconds: number
  readonly durationSeconds: number
}

/** One measurement: autocannon's numbers, latencies in milliseconds. */
export interface LoadResult {
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly requests: number
  /** Requests answered during the warm-up, which a CPU profile of the server also covers. */
  readonly warmupRequests: number
  readonly bytesPerRequest: number
  /**
   * CPU time the server process used during the measurement (Linux), which other work on the
   * machine disturbs far less than throughput; `undefined` where it cannot be read.
   */
  readonly serverCpuMs: number | undefined
  /** Errors, timeouts and non-2xx answers, by kind; empty when every request answered 2xx. */
  readonly failures: Readonly<Record<string, number>>
}

/**
 * Loads `baseUrl` from this process with `settings.connections` connections: a warm-up whose
 * numbers are dropped, then the measurement. Each request takes the next of `paths`, round robin
 * across all connections.
 */
export async function measureLoad(
  baseUrl: string,
  paths: readonly string[],
  settings: LoadSettings,
  serverPid?: number,
): Promise<LoadResult> {
  if (paths.length === 0) throw new Error('no paths to load')
  let next = 0
  const options = (duration: number): AutocannonOptions => ({
    url: baseUrl,
    connections: settings.connections,
    pipelining: 1,
    duration,
    timeout: 10,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length] }),
      },
    ],
  })
  const warmup = settings.warmupSeconds > 0 ? await autocannon(options(settings.warmupSeconds)) : undefined
  const cpuBefore = serverPid === undefined ? undefined : processCpuMs(serverPid)
  const result = await autocannon(options(settings.durationSeconds))
  const cpuAfter = serverPid === undefined ? undefined : processCpuMs(serverPid)
  const failures: Record<string, number> = {}
  if (result.errors > 0) failures.errors = result.errors
  if (result.timeouts > 0) failures.timeouts = result.timeouts
  for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
    if (!status.startsWith('2')) failures[`HTTP ${status}`] = count
  }
  if (result.non2xx > 0 && Object.keys(failures).length === 0) failures.non2xx = result.non2xx
  return {
    seconds: result.duration,
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    requests: result.requests.total,
    warmupRequests: warmup?.requests.total ?? 0,
    bytesPerRequest: result.requests.total > 0 ? result.throughput.total / result.requests.total : 0,
    serverCpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
    failures,
  }
}

/** Several measurements of the same thing as one: pooled throughput, median percentiles, worst max. */
export function combineLoads(results: readonly LoadResult[]): LoadResult {
  const median = (pick: (r: LoadResult) => number) => {
    const sorted = results.map(pick).sort((a, b) => a - b)
    const mid = Math.floor(sorted.length / 2)
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  }
  const seconds = results.reduce((sum, r) => sum + r.seconds, 0)
  const requests = results.reduce((sum, r) => sum + r.requests, 0)
  const bytes = results.reduce((sum, r) => sum + r.bytesPerRequest * r.requests, 0)
  const failures: Record<string, number> = {}
  for (const r of results) {
    for (const [kind, n] of Object.entries(r.failures)) failures[kind] = (failures[kind] ?? 0) + n
  }
  return {
    seconds,
    requestsPerSecond: requests / seconds,
    p50Ms: median((r) => r.p50Ms),
    p90Ms: median((r) => r.p90Ms),
    p99Ms: median((r) => r.p99Ms),
    maxMs: Math.max(...results.map((r) => r.maxMs)),
    requests,
    warmupRequests: results.reduce((sum, r) => sum + r.warmupRequests, 0),
    bytesPerRequest: requests > 0 ? bytes / requests : 0,
    serverCpuMs: results.some((r) => r.serverCpuMs === undefined)
      ? undefined
      : results.reduce((sum, r) => sum + r.serverCpuMs!, 0),
    failures,
  }
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times, is 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_SECOND = 100

/** User + system CPU time of a process so far, from /proc (Linux); `undefined` elsewhere. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return Number.isFinite(ticks) ? ticks * (1000 / CLOCK_TICKS_PER_SECOND) : undefined
  } catch {
    return undefined
  }
}
