import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { cliEnv } from '../test/helpers/cli.js'
import { connectRedis, deleteKeys, isRedisReachable } from '../test/helpers/shared-redis.js'
import { bareRoundTrips } from './bare-queue.js'
import { postgresServer, type BenchDatabase, type BenchServer } from './bench-databases.js'
import { loadCoinpipe } from './coinpipe-build.js'
import {
  inProcessRunner,
  openQueueRunner,
  SOURCES,
  type Coinpipe,
  type QueuedRunResult,
  type Runner,
} from './etl-runners.js'
import { startWorkers, stopAllWorkers } from './worker-processes.js'
import {
  formatBacklog,
  formatCycles,
  formatOverhead,
  type ModeResult,
  type OverheadResult,
  type Stretch,
} from './workers-report.js'

/**
 * Queue mode against the in-process mode (issue: "one upstream cycle with 1, 2 and 4 workers on
 * PostgreSQL against the in-process mode, printing throughput and the ratio; and the queueing
 * overhead per job"). The fake upstream (500 CoinGecko markets, 2,000 CoinPaprika tickers) runs in
 * its own process and moves on before each cycle; each worker is a `coinpipe worker --concurrency 2`
 * process; every mode gets a schema of its own and warm-up cycles (every asset new, then until each process
 * has run each source); then the modes take turns, so a machine whose speed drifts slows all alike.
 *
 *   npm run bench:workers -- [--cycles N] [--workers 1,2,4] [--backlog N] [--overhead-jobs N]
 *
 * Exits 1 only when a run or job fails or a process dies; timings are reported, never judged.
 */
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
const MARKETS = 500
const TICKERS = 2000
const PER_PAGE = 250
const WORKER_CONCURRENCY = 2
/** How far the fake upstream's clock moves before each cycle: most coins get a new observation. */
const ADVANCE_MS = 5 * 60_000
/** Warm-up stops here even if a worker has not had both sources yet. */
const MAX_WARM_UP_CYCLES_PER_PROCESS = 4
const BACKLOG_ROUNDS = 2

const { values: flags } = parseArgs({
  options: {
    cycles: { type: 'string' },
    workers: { type: 'string' },
    backlog: { type: 'string' },
    'overhead-jobs': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (flags.help) {
  console.log(
    'usage: npm run bench:workers -- [--cycles N] [--workers 1,2,4] [--backlog N (jobs per source)] [--overhead-jobs N]\n' +
      `env: BENCH_POSTGRES_URL (admin URL, default ${DEFAULT_POSTGRES_URL}), BENCH_REDIS_URL (default ${DEFAULT_REDIS_URL})`,
  )
  process.exit(0)
}
const cycles = positiveInt(flags.cycles ?? '6', 'cycles')
const workerCounts = (flags.workers ?? '1,2,4').split(',').map((n) => positiveInt(n.trim(), 'workers'))
const backlogPerSource = positiveInt(flags.backlog ?? '8', 'backlog')
const overheadJobs = positiveInt(flags['overhead-jobs'] ?? '20', 'overhead-jobs')
const postgresUrl = process.env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL
const redisUrl = process.env.BENCH_REDIS_URL ?? DEFAULT_REDIS_URL

// Every key of this run is under the prefix, and only those are deleted at the end (never FLUSHDB).
const prefix = `coinpipe-bench-${randomUUID().slice(0, 8)}`
const workDir = mkdtempSync(join(tmpdir(), 'coinpipe-workers-'))
const upstream = startUpstream()
let server: BenchServer | undefined
let failed = false
let interrupted = false
// Stopping the children makes whatever the bench waits on fail, so its own `finally` blocks close
// every connection before the database is dropped (a forced drop under an open pool crashes it).
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    interrupted = true
    console.error(`${signal}: stopping the workers and the fake upstream, then cleaning up`)
    void stopAllWorkers()
    void upstream.stop()
  })

try {
  if (!(await isRedisReachable(redisUrl))) throw new Error(`Redis does not answer at ${redisUrl}`)
  server = await postgresServer(postgresUrl)
  if (!server) throw new Error(`PostgreSQL does not answer at ${postgresUrl}`)
  const bench: Bench = { server, urls: await upstream.urls, coinpipe: await loadCoinpipe() }

  console.log(
    `One cycle: ${MARKETS} CoinGecko markets (${MARKETS / PER_PAGE} pages) + ${TICKERS} CoinPaprika tickers ` +
      `from the fake upstream (own process), on PostgreSQL (${server.where})`,
  )
  console.log(
    `coinpipe from dist/; each worker: \`coinpipe worker --concurrency ${WORKER_CONCURRENCY}\` in its own process; ` +
      `Redis prefix ${prefix}; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)} at start\n`,
  )
  const results = await measureModes(bench)
  console.log(
    `Cycles: ${cycles} round${cycles === 1 ? '' : 's'}; in each the upstream moves on ${ADVANCE_MS / 60_000} min, then every mode in turn ` +
      '(the order rotating) runs one cycle on that snapshot: one run of each source, both awaited (queue ' +
      'mode: 2 jobs, enqueued at once). Each mode has its own schema, and its warm-up cycles came first.',
  )
  for (const line of formatCycles(results)) console.log(line)
  console.log(
    '  A cycle is 2 jobs and a source never runs twice at once, so beyond 2 jobs in flight (1 worker at\n' +
      '  concurrency 2 already takes both) more workers cannot shorten a cycle: they only add processes.\n',
  )
  console.log(
    `Backlog: ${backlogPerSource} runs per source back to back (in ${Math.min(BACKLOG_ROUNDS, backlogPerSource)} ` +
      "round(s), modes in turn), each source's next enqueued as soon as its last completed (no cycle barrier), " +
      'the upstream on before each',
  )
  for (const line of formatBacklog(results)) console.log(line)
  console.log('')

  const overhead = await measureOverhead(bench)
  console.log(
    `Queueing overhead per job: ${overheadJobs} jobs one at a time (sources alternating), 1 worker, the upstream ` +
      'unchanged (runs of 0 new records); bare BullMQ in the same run on its own prefix',
  )
  for (const line of formatOverhead(overhead)) console.log(line)
} catch (error) {
  failed = true
  if (!interrupted)
    console.error(
      `workers bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    )
} finally {
  await stopAllWorkers()
  await upstream.stop()
  await deleteOwnKeys().catch((error: unknown) =>
    console.error(`could not delete ${prefix}:* keys: ${String(error)}`),
  )
  await server?.dispose()
  rmSync(workDir, { recursive: true, force: true })
}
process.exit(interrupted ? 130 : failed ? 1 : 0)

interface Bench {
  readonly server: BenchServer
  readonly urls: UpstreamUrls
  readonly coinpipe: Coinpipe
}

interface Mode {
  readonly label: string
  readonly runner: Runner
  warmUpCycles: number
}

/**
 * Every mode open at once, each on a schema and (queue mode) a prefix of its own, so the rounds can
 * take turns: a machine whose speed drifts then slows every mode alike, and the ratios hold.
 */
async function measureModes(bench: Bench): Promise<ModeResult[]> {
  const modes: Mode[] = []
  const dbs: BenchDatabase[] = []
  const open = async (label: string, start: (databaseUrl: string) => Promise<Runner>) => {
    const db = await bench.server.create(`mode_${dbs.length}`)
    dbs.push(db)
    const mode = { label, runner: await start(db.url), warmUpCycles: 0 }
    modes.push(mode)
    mode.warmUpCycles = await warmUp(mode.runner)
  }
  try {
    await open('in-process (sources concurrently)', (url) =>
      inProcessRunner(bench.coinpipe, environment(url, bench.urls)),
    )
    for (const [i, count] of workerCounts.entries())
      await open(`${count} worker${count === 1 ? '' : 's'}`, (url) =>
        openQueueMode(bench, url, count, `${prefix}:mode${i + 1}`),
      )
    await bench.server.settle()
    const timed = modes.map((): Stretch[] => [])
    for (let round = 0; round < cycles; round++) {
      await upstream.advance(ADVANCE_MS)
      for (const i of inTurn(modes.length, round)) timed[i]!.push(await cycle(modes[i]!.runner))
    }
    const backlogs = modes.map((): Stretch[] => [])
    const rounds = Math.min(BACKLOG_ROUNDS, backlogPerSource)
    for (let round = 0; round < rounds; round++)
      for (const i of inTurn(modes.length, round))
        backlogs[i]!.push(await backlog(modes[i]!.runner, Math.floor((backlogPerSource + round) / rounds)))
    return modes.map((mode, i) => ({
      label: mode.label,
      warmUpCycles: mode.warmUpCycles,
      cycles: timed[i]!,
      backlog: combined(backlogs[i]!),
    }))
  } finally {
    for (const mode of modes) await mode.runner.close()
    for (const db of dbs) await db.drop()
  }
}

/** Mode indexes in the order of `round`: each mode goes first in turn. */
function inTurn(count: number, round: number): number[] {
  return Array.from({ length: count }, (_, i) => (i + round) % count)
}

/**
 * The first cycle (every asset new), then cycles until every process has run each source on new
 * records once: a worker's code warms up in its own process, and a job goes to whichever worker asks
 * first, so 4 workers need more than one cycle. Returns how many cycles it took.
 */
async function warmUp(runner: Runner): Promise<number> {
  await cycle(runner)
  const warmed = new Set<string>()
  let count = 1
  while (
    warmed.size < runner.processes * SOURCES.length &&
    count <= MAX_WARM_UP_CYCLES_PER_PROCESS * runner.processes
  ) {
    await upstream.advance(ADVANCE_MS)
    for (const key of (await cycle(runner)).ran) warmed.add(key)
    count++
  }
  return count
}

/** Both sources at once, as serve's scheduler (in-process) or `etl run --enqueue` (queue mode) runs them. */
async function cycle(runner: Runner): Promise<Stretch & { readonly ran: readonly string[] }> {
  const started = performance.now()
  const runs = await Promise.all(SOURCES.map((source) => runner.run(source)))
  return {
    seconds: (performance.now() - started) / 1000,
    runs: runs.length,
    loaded: sum(runs.map((r) => r.loaded)),
    ran: runs.map((r, i) => `${r.owner} ${SOURCES[i]}`),
  }
}

/** Each source on its own: `perSource` runs back to back, the upstream moved on before each. */
async function backlog(runner: Runner, perSource: number): Promise<Stretch> {
  const started = performance.now()
  const runs = await Promise.all(
    SOURCES.map(async (source) => {
      const loaded: number[] = []
      for (let i = 0; i < perSource; i++) {
        await upstream.advance(ADVANCE_MS)
        loaded.push((await runner.run(source)).loaded)
      }
      return loaded
    }),
  )
  return { seconds: (performance.now() - started) / 1000, runs: runs.flat().length, loaded: sum(runs.flat()) }
}

/** `count` workers on `databaseUrl` and a queue under `queuePrefix`, taking jobs once this resolves. */
function openQueueMode(bench: Bench, databaseUrl: string, count: number, queuePrefix: string) {
  const env = cliEnv({
    ...environment(databaseUrl, bench.urls),
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: queuePrefix,
  })
  return openQueueRunner(bench.coinpipe, {
    redisUrl,
    prefix: queuePrefix,
    databaseUrl,
    startPool: (queue) => startWorkers(count, { env, cwd: workDir, concurrency: WORKER_CONCURRENCY, queue }),
  })
}

/** Jobs whose runs find nothing new, one at a time with one worker; then bare BullMQ's round trip. */
async function measureOverhead(bench: Bench): Promise<OverheadResult> {
  const db = await bench.server.create('overhead')
  const samples: QueuedRunResult[] = []
  try {
    const runner = await openQueueMode(bench, db.url, 1, `${prefix}:overhead`)
    try {
      await warmUp(runner)
      // The unchanged path (nothing new to load) once per source before it is timed.
      for (const source of SOURCES) await runner.run(source)
      for (let i = 0; i < overheadJobs; i++)
        samples.push(await runner.runJob(SOURCES[i % SOURCES.length]!, { observeSettled: true }))
    } finally {
      await runner.close()
    }
  } finally {
    await db.drop()
  }
  const bare = await bareRoundTrips(redisUrl, `${prefix}:bare`, overheadJobs)
  return { workers: 1, coinpipe: samples, bare }
}

/** What every coinpipe of the bench reads, in-process or worker: quiet, unscheduled, unthrottled. */
function environment(databaseUrl: string, urls: UpstreamUrls): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    SOURCES: SOURCES.join(','),
    COINGECKO_BASE_URL: urls.coingeckoUrl,
    COINPAPRIKA_BASE_URL: urls.coinpaprikaUrl,
    COINGECKO_PER_PAGE: String(PER_PAGE),
    COINGECKO_MAX_PAGES: String(MARKETS / PER_PAGE),
    // The limiter paces real upstreams; here it would only measure the configured wait.
    COINGECKO_RATE_LIMIT: '10000/1s',
    COINPAPRIKA_RATE_LIMIT: '10000/1s',
    // The fake never fails; once stopped (an interrupted bench), a run fails at once instead of retrying.
    UPSTREAM_MAX_RETRIES: '0',
    IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
    IDENTITY_COINS_LIST_REFRESH_MS: '0',
    ETL_SCHEDULE: 'off',
    ETL_RUN_ON_START: 'false',
    LOG_LEVEL: 'warn',
  }
}

interface UpstreamUrls {
  readonly coingeckoUrl: string
  readonly coinpaprikaUrl: string
}

/** `bench/fake-upstream-process.ts` in a process of its own; `advance` moves its clock. */
function startUpstream() {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/fake-upstream-process.ts', String(MARKETS), String(TICKERS)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const nextLine = async () => {
    const line = await lines.next()
    if (line.done) throw new Error('the fake upstream exited')
    return line.value
  }
  const urls = nextLine().then((line) => JSON.parse(line) as UpstreamUrls)
  urls.catch(() => undefined) // awaited by the bench; this only keeps an early exit from going unhandled
  // One advance at a time: the backlog's two sources both ask for one.
  let advancing = Promise.resolve()
  return {
    urls,
    advance(ms: number): Promise<void> {
      advancing = advancing.then(async () => {
        child.stdin.write(`advance ${ms}\n`)
        await nextLine()
      })
      return advancing
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

async function deleteOwnKeys(): Promise<void> {
  const redis = await connectRedis('coinpipe workers-bench cleanup', redisUrl)
  try {
    // The bare baseline's prefix (`<prefix>:bare`) is under it too.
    await deleteKeys(redis, prefix)
  } finally {
    redis.disconnect()
  }
}

function combined(stretches: readonly Stretch[]): Stretch {
  return {
    seconds: sum(stretches.map((s) => s.seconds)),
    runs: sum(stretches.map((s) => s.runs)),
    loaded: sum(stretches.map((s) => s.loaded)),
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((n, v) => n + v, 0)
}

function positiveInt(value: string, name: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${value}`)
    process.exit(2)
  }
  return n
}
