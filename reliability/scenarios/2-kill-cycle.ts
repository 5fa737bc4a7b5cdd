import { setTimeout as sleep } from 'node:timers/promises'
import { randomUUID } from 'node:crypto'
import type { BenchServer } from '../../bench/bench-databases.js'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstream/server.js'
import {
  cliEnv,
  logLines,
  runCli,
  startCli,
  type ProcessResult,
  type StartedProcess,
} from '../../test/helpers/cli.js'
import { connectRedis, deleteKeys, redisAnswers } from '../../test/helpers/shared-redis.js'
import { seededRandom } from '../../test/helpers/seeded-random.js'
import { compareRecords, recordLines, runsOf, type StoredRun } from '../database-state.js'
import type { Scenario, ScenarioResult } from '../scenario.js'

/**
 * Scenario 1, live cycles: a cycle of both live sources against the fake upstream, `kill -9`'d at
 * a random moment (seeded), then the next run. Each trial must end with exactly the records of a
 * cycle never killed at the same fake clock, and every run the kill left `running` marked
 * RUN_INTERRUPTED by the next one. In queue mode the victim is the worker running the jobs and the
 * next run is another worker's retry.
 */
const PROFILES = {
  short: { trials: 3, markets: 1500, tickers: 2000 },
  full: { trials: 20, markets: 2500, tickers: 3000 },
} as const
/** Pages of 250 markets, each held back this long by the fake: a cycle of about two seconds. */
const PER_PAGE = 250
const PAGE_DELAY_MS = 50
const RUN_TIMEOUT_MS = 120_000
const SOURCES = ['coingecko', 'coinpaprika'] as const

const scenario: Scenario = {
  id: 'kill-cycle',
  async run({ server, profile, seed, workDir, redisUrl }) {
    const options = { ...PROFILES[profile], seed }
    const fake = await startFakeUpstream({
      coingeckoMarkets: options.markets,
      coinpaprikaTickers: options.tickers,
      coinpaprikaPlan: 'paid',
    })
    try {
      fake.fault({
        source: 'coingecko',
        path: '/coins/markets',
        kind: 'slow',
        delayMs: PAGE_DELAY_MS,
        times: Infinity,
      })
      await warm(fake)
      const cycle = new LiveCycle(server, fake, options.markets, workDir)
      const expected = await cycle.reference()
      const results = [await killCycles(cycle, expected, options)]
      if (redisUrl !== undefined && (await redisAnswers(redisUrl)))
        results.push(await killQueuedCycles(cycle, expected, { ...options, redisUrl }))
      return results
    } finally {
      await fake.close()
    }
  },
}
export default scenario

interface KillCycleOptions {
  readonly trials: number
  readonly seed: number
}

/** A clean cycle's records, and how long it took from process start to exit. */
interface Reference {
  readonly lines: string[]
  readonly durationMs: number
}

/** How each trial went, summed into a row of the report. */
class Tally {
  lost = 0
  duplicated = 0
  wrongStatus = 0
  midRun = 0
  /** Runs the kills left `running`, for the next run to mark interrupted. */
  leftRunning = 0
  readonly failures: string[] = []

  /** Checks a trial's database after its next run; `left` are the runs the kill left `running`. */
  async check(
    url: string,
    expected: readonly string[],
    left: readonly StoredRun[],
    next: ProcessResult,
    what: string,
  ): Promise<void> {
    const runs = await runsOf(url)
    const diff = compareRecords(expected, await recordLines(url))
    const misjudged = left.filter((r) => {
      const after = runs.find((a) => a.id === r.id)
      return !(after?.status === 'failed' && after.errorCode === 'RUN_INTERRUPTED')
    })
    // The cycle that finishes must succeed: the kill is not the upstream's fault.
    const leftIds = new Set(left.map((r) => r.id))
    const notSucceeded = SOURCES.filter((source) => {
      const last = runs.filter((r) => r.source === source && !leftIds.has(r.id)).at(-1)
      return last?.status !== 'succeeded'
    })
    const nextFailed = next.code !== 0 ? 1 : 0
    this.leftRunning += left.length
    this.lost += diff.lost
    this.duplicated += diff.duplicated
    const wrong = misjudged.length + Math.max(nextFailed, notSucceeded.length > 0 ? 1 : 0)
    this.wrongStatus += wrong
    if (diff.lost + diff.duplicated + wrong > 0)
      this.failures.push(
        `${what}: ${diff.lost} lost, ${diff.duplicated} duplicated, ` +
          `${misjudged.length} killed runs not RUN_INTERRUPTED (${misjudged.map((r) => `${r.source} #${r.id}`).join(', ') || 'none'})` +
          (notSucceeded.length > 0 ? `, last run of ${notSucceeded.join(', ')} not succeeded` : '') +
          (nextFailed ? `, the next run exited ${next.code}: ${next.stderr.trim().slice(-2000)}` : ''),
      )
  }
}

/** One cycle of both live sources against the fake, at the fake's clock, which never moves here. */
class LiveCycle {
  readonly args = ['etl', 'run', '--source', 'coingecko', '--source', 'coinpaprika', '--json']

  constructor(
    readonly server: BenchServer,
    private readonly fake: FakeUpstream,
    private readonly markets: number,
    /** Where the children run: a directory without a `.env`. */
    readonly cwd: string,
  ) {}

  env(databaseUrl: string, vars: Record<string, string> = {}): NodeJS.ProcessEnv {
    return cliEnv({
      DATABASE_URL: databaseUrl,
      SOURCES: SOURCES.join(','),
      COINGECKO_BASE_URL: this.fake.coingeckoUrl,
      COINPAPRIKA_BASE_URL: this.fake.coinpaprikaUrl,
      COINGECKO_PER_PAGE: String(PER_PAGE),
      COINGECKO_MAX_PAGES: String(Math.ceil(this.markets / PER_PAGE) + 1),
      COINGECKO_RATE_LIMIT: '1000/1s',
      COINPAPRIKA_RATE_LIMIT: '1000/1s',
      UPSTREAM_RETRY_BASE_MS: '10',
      IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
      ...vars,
    })
  }

  async reference(): Promise<Reference> {
    const db = await this.server.create('reliability_cycle_ref')
    try {
      const started = performance.now()
      const clean = await runCli(this.args, {
        cwd: this.cwd,
        env: this.env(db.url),
        timeoutMs: RUN_TIMEOUT_MS,
      })
      if (clean.code !== 0) throw new Error(`the reference cycle failed:\n${clean.stderr}`)
      const durationMs = performance.now() - started
      const lines = await recordLines(db.url)
      if (lines.length < this.markets)
        throw new Error(`the reference cycle loaded only ${lines.length} records`)
      return { lines, durationMs }
    } finally {
      await db.drop()
    }
  }
}

/** In-process runs: `etl run` killed, then `etl run` again. */
async function killCycles(
  cycle: LiveCycle,
  expected: Reference,
  options: KillCycleOptions,
): Promise<ScenarioResult> {
  const random = seededRandom(options.seed)
  const tally = new Tally()
  const { cwd } = cycle
  for (let trial = 0; trial < options.trials; trial++) {
    const killAfterMs = Math.round(random() * expected.durationMs * 1.1)
    const db = await cycle.server.create(`reliability_cycle_${trial}`)
    try {
      const victim = startCli(cycle.args, { cwd, env: cycle.env(db.url) })
      await Promise.race([sleep(killAfterMs), victim.exited])
      const killedMidRun = !victim.exitedYet()
      if (killedMidRun) {
        victim.child.kill('SIGKILL')
        tally.midRun++
      }
      await victim.exited
      const left = (await runsOf(db.url)).filter((r) => r.status === 'running')
      const next = await runCli(cycle.args, { cwd, env: cycle.env(db.url), timeoutMs: RUN_TIMEOUT_MS })
      await tally.check(
        db.url,
        expected.lines,
        left,
        next,
        `trial ${trial} (seed ${options.seed}, kill after ${killAfterMs} ms${killedMidRun ? '' : ', after the cycle ended'})`,
      )
    } finally {
      await db.drop()
    }
  }
  return {
    scenario: 'kill -9 during a live cycle',
    dialect: cycle.server.dialect,
    trials: options.trials,
    lost: tally.lost,
    duplicated: tally.duplicated,
    wrongStatus: tally.wrongStatus,
    fiveXx: null,
    p99Ms: null,
    detail:
      `${tally.midRun} of ${options.trials} kills landed mid-cycle, leaving ${tally.leftRunning} runs running; clean cycle ${Math.round(expected.durationMs)} ms, ` +
      `${expected.lines.length} records; seed ${options.seed}`,
    failures: tally.failures,
  }
}

/**
 * Queue mode: a worker runs the jobs `etl run --enqueue` queues and is killed at a random moment;
 * a second worker, started then, takes the jobs over once the first one's lease has lapsed.
 */
async function killQueuedCycles(
  cycle: LiveCycle,
  expected: Reference,
  options: KillCycleOptions & { readonly redisUrl: string },
): Promise<ScenarioResult> {
  // Another sequence than the in-process trials', from the same seed.
  const random = seededRandom(options.seed ^ 0x5eed)
  const tally = new Tally()
  const { cwd } = cycle
  const redis = await connectRedis('reliability kill-cycle', options.redisUrl)
  const enqueue = ['etl', 'run', '--enqueue', '--source', 'coingecko', '--source', 'coinpaprika', '--json']
  const started: StartedProcess[] = []
  const prefixes: string[] = []
  const queueEnv = (url: string, prefix: string, vars: Record<string, string> = {}) =>
    cycle.env(url, { REDIS_URL: options.redisUrl, QUEUE_PREFIX: prefix, QUEUE_LEASE_MS: '2000', ...vars })
  const startWorker = async (url: string, prefix: string) => {
    const worker = startCli(['worker'], { cwd, env: queueEnv(url, prefix, { LOG_LEVEL: 'info' }) })
    started.push(worker)
    await waitUntil(
      () => {
        if (worker.exitedYet()) throw new Error(`a worker exited early:\n${worker.stderr()}`)
        return logLines(worker.stdout()).some((line) => line.msg === 'worker started')
      },
      30_000,
      'a worker to start',
    )
    return worker
  }
  const stop = async (proc: StartedProcess) => {
    if (proc.exitedYet()) return
    proc.child.kill('SIGTERM')
    await exitWithin(proc, 15_000)
  }
  const newPrefix = () => {
    const prefix = `coinpipe-reliability-${randomUUID().slice(0, 8)}`
    prefixes.push(prefix)
    return prefix
  }

  let durationMs = 0
  try {
    // A clean queued cycle, for the kill window: it also spends time waiting on the queue.
    const timing = await cycle.server.create('reliability_qcycle_ref')
    try {
      const prefix = newPrefix()
      const worker = await startWorker(timing.url, prefix)
      const begun = performance.now()
      const clean = await runCli(enqueue, {
        cwd,
        env: queueEnv(timing.url, prefix),
        timeoutMs: RUN_TIMEOUT_MS,
      })
      durationMs = performance.now() - begun
      await stop(worker)
      if (clean.code !== 0) throw new Error(`the clean queued cycle failed:\n${clean.stderr}`)
      const diff = compareRecords(expected.lines, await recordLines(timing.url))
      if (diff.lost + diff.duplicated > 0)
        throw new Error(
          `a clean queued cycle does not load what a clean in-process one does: ${diff.lost} lost, ${diff.duplicated} other`,
        )
    } finally {
      await timing.drop()
    }

    for (let trial = 0; trial < options.trials; trial++) {
      const killAfterMs = Math.round(random() * durationMs * 1.1)
      const db = await cycle.server.create(`reliability_qcycle_${trial}`)
      const prefix = newPrefix()
      try {
        const victim = await startWorker(db.url, prefix)
        const asking = startCli(enqueue, { cwd, env: queueEnv(db.url, prefix) })
        started.push(asking)
        await Promise.race([sleep(killAfterMs), asking.exited])
        const killedMidRun = !asking.exitedYet()
        if (killedMidRun) tally.midRun++
        victim.child.kill('SIGKILL')
        await victim.exited
        const left = (await runsOf(db.url)).filter((r) => r.status === 'running')
        const rescuer = await startWorker(db.url, prefix)
        const next = await exitWithin(asking, RUN_TIMEOUT_MS)
        await stop(rescuer)
        await tally.check(
          db.url,
          expected.lines,
          left,
          next,
          `queue trial ${trial} (seed ${options.seed}, kill the worker after ${killAfterMs} ms${killedMidRun ? '' : ', after the cycle ended'})`,
        )
      } finally {
        await db.drop()
        await deleteKeys(redis, prefix)
      }
    }
  } finally {
    for (const proc of started) if (!proc.exitedYet()) proc.child.kill('SIGKILL')
    await Promise.allSettled(started.map((proc) => proc.exited))
    for (const prefix of prefixes) await deleteKeys(redis, prefix)
    redis.disconnect()
  }
  return {
    scenario: 'kill -9 of the worker during a queued cycle',
    dialect: `${cycle.server.dialect} + queue`,
    trials: options.trials,
    lost: tally.lost,
    duplicated: tally.duplicated,
    wrongStatus: tally.wrongStatus,
    fiveXx: null,
    p99Ms: null,
    detail:
      `${tally.midRun} of ${options.trials} kills landed mid-cycle, leaving ${tally.leftRunning} runs running; ` +
      `clean queued cycle ${Math.round(durationMs)} ms; seed ${options.seed}`,
    failures: tally.failures,
  }
}

/** Builds the fake's payloads once, so no run is billed for it. */
async function warm(fake: FakeUpstream): Promise<void> {
  const pages = [
    `${fake.coingeckoUrl}/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=${PER_PAGE}&page=1&sparkline=false`,
    `${fake.coinpaprikaUrl}/tickers?quotes=USD`,
  ]
  for (const page of pages) {
    const response = await fetch(page)
    if (!response.ok) throw new Error(`the fake upstream answered ${response.status} to ${page}`)
    await response.arrayBuffer()
  }
}

/** The process's exit, SIGKILLing it if it takes longer than `timeoutMs`. */
async function exitWithin(proc: StartedProcess, timeoutMs: number): Promise<ProcessResult> {
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs)
  try {
    return await proc.exited
  } finally {
    clearTimeout(timer)
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}
