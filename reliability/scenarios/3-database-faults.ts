import { execFile } from 'node:child_process'
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import SqliteDatabase from 'better-sqlite3'
import pg from 'pg'
import type { BenchServer } from '../../bench/bench-databases.js'
import { parseDatabaseUrl } from '../../src/config.js'
import { migrateToLatest, openDatabase } from '../../src/db/database.js'
import {
  cliEnv,
  logLines,
  runCli,
  startCli,
  type ProcessResult,
  type StartedProcess,
} from '../../test/helpers/cli.js'
import { writeLargeCsv } from '../../test/helpers/large-csv.js'
import { seededRandom } from '../../test/helpers/seeded-random.js'
import { compareRecords, recordLines, runsOf, type StoredRun } from '../database-state.js'
import type { Scenario, ScenarioResult } from '../scenario.js'

const run = promisify(execFile)

const BATCH_ROWS = 2000
const PROFILES = {
  short: { trials: 2, rows: 50_000 },
  full: { trials: 10, rows: 200_000 },
} as const
/** coinpipe's SQLite `busy_timeout` (src/db/dialects/sqlite.ts): a competing writer holds the lock longer. */
const SQLITE_BUSY_TIMEOUT_MS = 5000
const PG_BIN = process.env.RELIABILITY_PG_BIN ?? '/usr/lib/postgresql/15/bin'
const API_KEY = 'reliability-database-faults-key'
/** How long a faulted run may take to end, and the next run to complete, before it counts as a hang. */
const HANG_MS = 60_000
/**
 * The codes a run stopped by a database fault may end with: the database went away, could not be
 * written, or another writer held it past the busy timeout (`DATABASE_ERROR`, the driver's message
 * saying which). `INTERNAL` (a bug) is not one of them.
 */
const DATABASE_FAULT_CODES = new Set(['DATABASE_ERROR'])

const scenario: Scenario = {
  id: 'database-faults',
  async run({ server, profile, seed, workDir }) {
    const { trials, rows } = PROFILES[profile]
    const csv = await writeLargeCsv(join(workDir, `faults-${rows}.csv`), { rows, duplicateEvery: 100 })
    const reference = await referenceImport(server, csv.path, workDir)
    const common = { trials, seed, workDir, csv: csv.path, reference }
    if (server.dialect === 'postgres')
      return [await postgresRestarts(common), await terminatedBackends(server, common)]
    return [await competingWriters(server, common), await fullDisks(common)]
  },
}
export default scenario

interface Reference {
  readonly lines: string[]
  readonly ms: number
  /** SQLite only: the database file's size once the import is in. */
  readonly bytes: number
}

interface KindOptions {
  readonly trials: number
  readonly seed: number
  readonly workDir: string
  readonly csv: string
  readonly reference: Reference
}

/** One fault kind's tally, turned into a report row at the end. */
class Tally {
  lost = 0
  duplicated = 0
  wrongStatus = 0
  fiveXx = 0
  midRun = 0
  readonly codes = new Map<string, number>()
  readonly healthMs: number[] = []
  readonly failures: string[] = []
  readonly notes: string[] = []
  /** Distinct 5xx answers other than /health's documented 503, for the failures list. */
  readonly serverErrors = new Set<string>()

  constructor(
    readonly scenario: string,
    readonly dialect: string,
    readonly trials: number,
    readonly seed: number,
    readonly serves: boolean,
  ) {}

  code(status: string, code: string | null) {
    const key = `${status}${code ? ` ${code}` : ''}`
    this.codes.set(key, (this.codes.get(key) ?? 0) + 1)
  }

  result(): ScenarioResult {
    const sorted = [...this.healthMs].sort((a, b) => a - b)
    const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : null
    const ends = [...this.codes].map(([k, n]) => `${n}× ${k}`).join(', ')
    return {
      scenario: this.scenario,
      dialect: this.dialect,
      trials: this.trials,
      lost: this.lost,
      duplicated: this.duplicated,
      wrongStatus: this.wrongStatus,
      fiveXx: this.serves ? this.fiveXx : null,
      p99Ms: p99 === null ? null : Math.round(p99),
      detail:
        `${this.midRun} of ${this.trials} faults landed mid-import; faulted runs ended ${ends || 'not at all'}` +
        `${this.notes.length ? `; ${this.notes.join('; ')}` : ''}${this.serves ? '; p99 is GET /health' : ''}; seed ${this.seed}`,
      failures: [...this.failures, ...[...this.serverErrors].map((e) => `seed ${this.seed}: ${e}`)],
    }
  }
}

/** What one trial saw; every non-empty `problems` entry makes it a failure. */
interface TrialOutcome {
  readonly problems: string[]
}

// ---------------------------------------------------------------------------------------------
// The fault kinds

/**
 * A PostgreSQL cluster of the scenario's own, stopped (fast or immediate, seeded) at a seeded moment
 * of an import that `serve` runs (`POST /api/v1/runs`), down for a seeded while, then started again.
 */
async function postgresRestarts(options: KindOptions): Promise<ScenarioResult> {
  const tally = new Tally('PostgreSQL restarted mid-import', 'postgres', options.trials, options.seed, true)
  const random = seededRandom(options.seed ^ 0x5e57a47)
  const cluster = await PostgresCluster.start()
  try {
    for (let trial = 0; trial < options.trials; trial++) {
      const faultAfterMs = Math.round(random() * options.reference.ms * 1.1)
      const mode = random() < 0.5 ? 'fast' : 'immediate'
      const downMs = Math.round(random() * 3000)
      const step = `trial ${trial} (seed ${options.seed}, stop -m ${mode} after ${faultAfterMs} ms, down ${downMs} ms)`
      const url = await cluster.createDatabase(`faults_restart_${trial}`)
      await migrate(url)
      const outcome = await serveTrial(tally, options, url, {
        faultAfterMs,
        fault: async () => {
          await cluster.stop(mode)
          await sleep(downMs)
          await cluster.startAgain()
        },
      })
      report(tally, step, outcome)
    }
  } finally {
    await cluster.destroy()
  }
  return tally.result()
}

/** Every backend of the import's database killed with `pg_terminate_backend` at a seeded moment of `etl run`. */
async function terminatedBackends(server: BenchServer, options: KindOptions): Promise<ScenarioResult> {
  const tally = new Tally('pg_terminate_backend mid-import', 'postgres', options.trials, options.seed, false)
  const random = seededRandom(options.seed ^ 0x7e4a11)
  for (let trial = 0; trial < options.trials; trial++) {
    const faultAfterMs = Math.round(random() * options.reference.ms * 1.1)
    // A second round of kills a little later catches the connections the first one made coinpipe open.
    const againAfterMs = random() < 0.5 ? Math.round(50 + random() * 500) : undefined
    const step =
      `trial ${trial} (seed ${options.seed}, terminate after ${faultAfterMs} ms` +
      `${againAfterMs === undefined ? '' : ` and again ${againAfterMs} ms later`})`
    const db = await server.create(`reliability_faults_term_${trial}`)
    try {
      let killed = 0
      const outcome = await cliTrial(tally, options, db.url, {
        faultAfterMs,
        fault: async () => {
          killed += await terminateBackends(db.url)
          if (againAfterMs !== undefined) {
            await sleep(againAfterMs)
            killed += await terminateBackends(db.url)
          }
        },
      })
      if (killed === 0 && outcome.midRun) tally.notes.push(`${step}: no backend to kill`)
      report(tally, step, outcome)
    } finally {
      await db.drop()
    }
  }
  return tally.result()
}

/**
 * Another connection holds SQLite's write lock (BEGIN IMMEDIATE) for longer than coinpipe's busy
 * timeout, from a seeded moment of `etl run`.
 */
async function competingWriters(server: BenchServer, options: KindOptions): Promise<ScenarioResult> {
  const tally = new Tally(
    'SQLITE_BUSY from a competing writer',
    'sqlite',
    options.trials,
    options.seed,
    false,
  )
  const random = seededRandom(options.seed ^ 0xb05e)
  for (let trial = 0; trial < options.trials; trial++) {
    const faultAfterMs = Math.round(random() * options.reference.ms * 1.1)
    const holdMs = Math.round(SQLITE_BUSY_TIMEOUT_MS + 1000 + random() * 2000)
    const step = `trial ${trial} (seed ${options.seed}, write lock taken after ${faultAfterMs} ms for ${holdMs} ms)`
    const db = await server.create(`reliability_faults_busy_${trial}`)
    try {
      const outcome = await cliTrial(tally, options, db.url, {
        faultAfterMs,
        fault: () => holdWriteLock(sqlitePath(db.url), holdMs),
      })
      report(tally, step, outcome)
    } finally {
      await db.drop()
    }
  }
  return tally.result()
}

/**
 * The SQLite file on a tmpfs too small for the import (a seeded 30–90 % of the reference's file),
 * imported by `serve`; the tmpfs is then remounted larger and the next run must complete.
 */
async function fullDisks(options: KindOptions): Promise<ScenarioResult> {
  const tally = new Tally('disk full mid-import', 'sqlite', options.trials, options.seed, true)
  const random = seededRandom(options.seed ^ 0xd15cf)
  for (let trial = 0; trial < options.trials; trial++) {
    const sizeBytes = roundToPage(options.reference.bytes * (0.3 + random() * 0.6))
    const step = `trial ${trial} (seed ${options.seed}, a ${(sizeBytes / 2 ** 20).toFixed(1)} MiB tmpfs)`
    const dir = join(options.workDir, `faults-full-${trial}`)
    mkdirSync(dir, { recursive: true })
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir])
    } catch (error) {
      rmSync(dir, { recursive: true, force: true })
      tally.notes.push(`cannot mount a tmpfs (${(error as Error).message.trim()}): disk full not tried`)
      tally.failures.push(`${step}: cannot mount a tmpfs; run as root`)
      break
    }
    try {
      const url = `sqlite:${join(dir, 'coinpipe.db')}`
      await migrate(url)
      const outcome = await serveTrial(tally, options, url, {
        // The disk fills by itself; space comes back once the run has ended.
        faultAfterMs: 0,
        fault: () => Promise.resolve(),
        beforeNextRun: () => run('mount', ['-o', 'remount,size=1g', dir]).then(() => undefined),
      })
      report(tally, step, outcome)
    } finally {
      await run('umount', ['-l', dir]).catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return tally.result()
}

// ---------------------------------------------------------------------------------------------
// Trials

interface Fault {
  /** From the start of the import. */
  readonly faultAfterMs: number
  fault(): Promise<unknown>
  /** What must happen before the next run can complete (space freed), once the faulted run ended. */
  beforeNextRun?: () => Promise<void>
}

interface Outcome extends TrialOutcome {
  readonly midRun: boolean
}

/** `coinpipe etl run --file` with the fault injected, then the next `etl run`. */
async function cliTrial(tally: Tally, options: KindOptions, url: string, fault: Fault): Promise<Outcome> {
  const args = ['etl', 'run', '--file', options.csv, '--json']
  const env = cliEnv({ DATABASE_URL: url, CSV_BATCH_ROWS: String(BATCH_ROWS) })
  const problems: string[] = []
  const importing = startCli(args, { cwd: options.workDir, env })
  const exited = withTimeout(importing.exited, HANG_MS)
  await Promise.race([sleep(fault.faultAfterMs), exited])
  const midRun = !importing.exitedYet()
  let faulted = Promise.resolve<unknown>(undefined)
  if (midRun) {
    tally.midRun++
    faulted = fault.fault()
  }
  const result = await exited
  await faulted
  if (result === 'timeout') {
    killGroup(importing)
    problems.push(`etl run hung for ${HANG_MS} ms after the fault`)
    tally.wrongStatus++
    await importing.exited
  }
  const faultedRun = (await runsOf(url)).at(-1)
  // A fault before the run row was written (the process was still starting): no run, exit 3, the
  // database named as the cause. Otherwise exit 1 for a failed run, 0 for any other end.
  const expectedExit = faultedRun === undefined ? 3 : faultedRun.status === 'failed' ? 1 : 0
  if (result !== 'timeout' && (result.code !== expectedExit || result.signal !== null)) {
    problems.push(
      `the faulted etl run exited ${result.code ?? result.signal} (its run ${faultedRun?.status ?? 'missing'}): ${lastLine(result)}`,
    )
    tally.wrongStatus++
  }
  if (faultedRun === undefined) tally.code('not started', 'exit 3')
  else problems.push(...(await judgeFaultedRun(tally, options, url, faultedRun, midRun)))

  await fault.beforeNextRun?.()
  const next = await runCli(args, { cwd: options.workDir, env, timeoutMs: HANG_MS }).catch(
    (error: Error) => error,
  )
  const nextRun = (await runsOf(url)).at(-1)
  if (next instanceof Error || next.code !== 0 || nextRun?.status !== 'succeeded') {
    problems.push(
      `the next etl run did not complete: ${next instanceof Error ? next.message : `exit ${next.code}, run ${nextRun?.status} ${nextRun?.errorCode ?? ''}: ${lastLine(next)}`}`,
    )
    tally.wrongStatus++
  }
  problems.push(...(await compareWithReference(tally, options, url)))
  return { problems, midRun }
}

/**
 * `coinpipe serve` over `url` with CSV_PATHS the CSV: `POST /api/v1/runs`, the fault, the run
 * followed to its end through the API, then the next run the same way. `/health` is polled all
 * along: serve must answer it throughout (503 while the database is away) and be `ok` at the end.
 */
async function serveTrial(tally: Tally, options: KindOptions, url: string, fault: Fault): Promise<Outcome> {
  const problems: string[] = []
  const serve = await startServe(options, url)
  const poller = pollHealth(serve.url, tally)
  let midRun = false
  try {
    const started = await startRunOver(serve.url)
    if ('problem' in started) throw new Error(started.problem)
    await sleep(fault.faultAfterMs)
    let current = await getRun(serve.url, started.id, tally)
    midRun = current?.status === 'running'
    if (midRun) {
      tally.midRun++
      await fault.fault()
    }
    current = await waitForRunEnd(serve, started.id, tally)
    if (current === undefined) {
      problems.push(`run ${started.id} was still running ${HANG_MS} ms after the fault`)
      tally.wrongStatus++
    }
    const faultedRun = (await runsOf(url)).find((r) => r.id === started.id)
    problems.push(...(await judgeFaultedRun(tally, options, url, faultedRun, midRun)))

    await fault.beforeNextRun?.()
    const nextStarted = await startRunOver(serve.url)
    const next = 'problem' in nextStarted ? undefined : await waitForRunEnd(serve, nextStarted.id, tally)
    if (next?.status !== 'succeeded') {
      problems.push(
        `the next run did not complete: ${'problem' in nextStarted ? nextStarted.problem : next ? `${next.status} ${next.error_code}: ${next.error_message}` : 'still running'}`,
      )
      tally.wrongStatus++
    }
    const health = await fetchJson(`${serve.url}/health`)
    if (health?.status !== 200 || (health.body as { status?: string }).status !== 'ok') {
      problems.push(
        `/health once the database is back: ${health?.status ?? 'no answer'} ${JSON.stringify(health?.body)}`,
      )
      tally.wrongStatus++
    }
  } finally {
    const polled = await poller.stop()
    problems.push(...polled)
    if (serve.proc.exitedYet()) {
      problems.push(`serve exited: ${lastLine(await serve.proc.exited)}`)
      tally.wrongStatus++
    } else {
      serve.proc.child.kill('SIGTERM')
      const stopped = await withTimeout(serve.proc.exited, 30_000)
      if (stopped === 'timeout') {
        killGroup(serve.proc)
        problems.push('serve did not stop within 30 s of SIGTERM')
        tally.wrongStatus++
      }
    }
  }
  problems.push(...(await compareWithReference(tally, options, url)))
  return { problems, midRun }
}

/**
 * The run the fault hit: `failed` or `partial` with a database code, or `succeeded` when the fault
 * came after its last batch, and in every case nothing half-written: every record belongs to a
 * batch marked loaded, the run's `loaded` count is what it wrote, no record differs from the
 * reference's.
 */
async function judgeFaultedRun(
  tally: Tally,
  options: KindOptions,
  url: string,
  faultedRun: StoredRun | undefined,
  midRun: boolean,
): Promise<string[]> {
  const problems: string[] = []
  if (faultedRun === undefined) {
    tally.wrongStatus++
    return ['the faulted import left no run']
  }
  tally.code(faultedRun.status, faultedRun.errorCode)
  const stopped = faultedRun.status === 'failed' || faultedRun.status === 'partial'
  const lines = await recordLines(url)
  const diff = compareRecords(options.reference.lines, lines)
  if (stopped ? !DATABASE_FAULT_CODES.has(faultedRun.errorCode ?? '') : faultedRun.status !== 'succeeded') {
    problems.push(
      `the faulted run ended ${faultedRun.status} ${faultedRun.errorCode ?? ''} (${faultedRun.errorMessage ?? ''})` +
        `${midRun ? '' : ', the fault having come after the import'}`,
    )
    tally.wrongStatus++
  } else if (faultedRun.status === 'succeeded' && diff.lost > 0) {
    problems.push(`the faulted run ended succeeded without ${diff.lost} records`)
    tally.wrongStatus++
  }
  const halves = await halfWritten(url, faultedRun.id)
  if (diff.duplicated > 0 || halves.length > 0) {
    problems.push(`after the fault: ${diff.duplicated} records beyond the reference's; ${halves.join('; ')}`)
    tally.duplicated += diff.duplicated
    if (diff.duplicated === 0) tally.wrongStatus++
  }
  return problems
}

async function compareWithReference(tally: Tally, options: KindOptions, url: string): Promise<string[]> {
  const diff = compareRecords(options.reference.lines, await recordLines(url))
  tally.lost += diff.lost
  tally.duplicated += diff.duplicated
  return diff.lost + diff.duplicated > 0
    ? [`after the next run: ${diff.lost} lost, ${diff.duplicated} duplicated`]
    : []
}

function report(tally: Tally, step: string, outcome: TrialOutcome): void {
  if (outcome.problems.length > 0) tally.failures.push(`${step}: ${outcome.problems.join('; ')}`)
}

// ---------------------------------------------------------------------------------------------
// serve

interface Serve {
  readonly proc: StartedProcess
  readonly url: string
}

async function startServe(options: KindOptions, databaseUrl: string): Promise<Serve> {
  const proc = startCli(['serve'], {
    cwd: options.workDir,
    env: cliEnv({
      DATABASE_URL: databaseUrl,
      PORT: '0',
      LOG_LEVEL: 'info',
      SOURCES: 'csv',
      CSV_PATHS: options.csv,
      CSV_BATCH_ROWS: String(BATCH_ROWS),
      API_KEYS: API_KEY,
    }),
  })
  const deadline = Date.now() + 30_000
  for (;;) {
    if (proc.exitedYet()) throw new Error(`coinpipe serve exited early:\n${proc.stderr()}`)
    const serving = logLines(proc.stdout()).find((line) => line.msg === 'coinpipe is serving')
    if (serving) return { proc, url: serving.url as string }
    if (Date.now() > deadline) {
      killGroup(proc)
      throw new Error('coinpipe serve did not listen within 30 s')
    }
    await sleep(50)
  }
}

interface ApiRun {
  id: number
  status: string
  error_code: string | null
  error_message: string | null
}

async function startRunOver(base: string): Promise<{ id: number } | { problem: string }> {
  // A 409 means the run before has not ended yet: asking again is what a client would do.
  const deadline = Date.now() + HANG_MS
  for (;;) {
    const response = await fetch(`${base}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ source: 'csv' }),
      signal: AbortSignal.timeout(10_000),
    }).catch((error: Error) => error)
    if (!(response instanceof Error) && response.status === 202)
      return { id: ((await response.json()) as ApiRun).id }
    if (Date.now() > deadline)
      return {
        problem: `POST /api/v1/runs: ${response instanceof Error ? response.message : `${response.status} ${await response.text()}`}`,
      }
    await sleep(250)
  }
}

/** The run as the API shows it; while the database is away, a 503 problem (a 500 counts as a server error). */
async function getRun(base: string, id: number, tally: Tally): Promise<ApiRun | undefined> {
  const answer = await fetchJson(`${base}/api/v1/runs/${id}`)
  if (answer && answer.status >= 500 && answer.status !== 503) {
    tally.fiveXx++
    tally.serverErrors.add(`GET /api/v1/runs/{id} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  }
  return answer?.status === 200 ? (answer.body as ApiRun) : undefined
}

/** The run once it is no longer `running` (503s while the database is away are waited out). */
async function waitForRunEnd(serve: Serve, id: number, tally: Tally): Promise<ApiRun | undefined> {
  const deadline = Date.now() + HANG_MS
  while (Date.now() < deadline && !serve.proc.exitedYet()) {
    const current = await getRun(serve.url, id, tally)
    if (current && current.status !== 'running') return current
    await sleep(100)
  }
  return undefined
}

async function fetchJson(url: string): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body }
  } catch {
    return undefined
  }
}

/**
 * `/health` every 100 ms until stopped: a 5xx other than the documented 503 (database down) is a
 * server error, no answer at all means serve crashed or hung.
 */
function pollHealth(base: string, tally: Tally) {
  let stopping = false
  let unanswered = 0
  const problems: string[] = []
  const loop = (async () => {
    while (!stopping) {
      const started = performance.now()
      try {
        const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) })
        await response.arrayBuffer()
        tally.healthMs.push(performance.now() - started)
        if (response.status >= 500 && response.status !== 503) {
          tally.fiveXx++
          problems.push(`GET /health answered ${response.status}`)
        }
      } catch (error) {
        if (stopping) break
        unanswered++
        if (unanswered === 1) problems.push(`GET /health got no answer: ${(error as Error).message}`)
      }
      await sleep(100)
    }
  })()
  return {
    async stop() {
      stopping = true
      await loop
      if (unanswered > 0) tally.wrongStatus++
      return problems
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Databases and faults

/** What a batch written in part would leave: records of batches not marked loaded, a run's count off its records. */
async function halfWritten(url: string, runId: number): Promise<string[]> {
  const db = await openDatabase(parseDatabaseUrl(url))
  try {
    const orphans = await db.kysely
      .selectFrom('records')
      .innerJoin('rawBatches', 'rawBatches.id', 'records.rawBatchId')
      .where('rawBatches.status', '!=', 'loaded')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow()
    const written = await db.kysely
      .selectFrom('records')
      .where('runId', '=', runId)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow()
    const counted = await db.kysely
      .selectFrom('etlRuns')
      .where('id', '=', runId)
      .select('loaded')
      .executeTakeFirstOrThrow()
    const problems: string[] = []
    if (Number(orphans.n) > 0) problems.push(`${orphans.n} records of batches not marked loaded`)
    if (Number(written.n) !== counted.loaded)
      problems.push(`run ${runId} counts ${counted.loaded} records loaded but wrote ${written.n}`)
    return problems
  } finally {
    await db.close()
  }
}

async function migrate(url: string): Promise<void> {
  const db = await openDatabase(parseDatabaseUrl(url))
  try {
    await migrateToLatest(db)
  } finally {
    await db.close()
  }
}

/** The clean import every trial is compared with, on the suite's own server of the dialect. */
async function referenceImport(server: BenchServer, csv: string, workDir: string): Promise<Reference> {
  const db = await server.create('reliability_faults_ref')
  try {
    const env = cliEnv({ DATABASE_URL: db.url, CSV_BATCH_ROWS: String(BATCH_ROWS) })
    const started = performance.now()
    const clean = await runCli(['etl', 'run', '--file', csv, '--json'], {
      cwd: workDir,
      env,
      timeoutMs: 300_000,
    })
    if (clean.code !== 0) throw new Error(`the reference import failed:\n${clean.stderr}`)
    const ms = performance.now() - started
    const lines = await recordLines(db.url)
    const bytes = server.dialect === 'sqlite' ? statSync(sqlitePath(db.url)).size : 0
    return { lines, ms, bytes }
  } finally {
    await db.drop()
  }
}

/** Kills every backend on `url`'s database but this one's; how many. */
async function terminateBackends(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => undefined)
  await client.connect()
  try {
    const { rows } = await client.query<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    )
    return rows.filter((r) => r.killed).length
  } finally {
    await client.end()
  }
}

/** Another connection takes the SQLite write lock (BEGIN IMMEDIATE) and keeps it for `holdMs`. */
async function holdWriteLock(path: string, holdMs: number): Promise<void> {
  const db = new SqliteDatabase(path)
  try {
    // Waits for coinpipe's batch in flight to commit, then holds the lock past coinpipe's busy timeout.
    db.pragma('busy_timeout = 30000')
    db.exec('BEGIN IMMEDIATE')
    await sleep(holdMs)
    db.exec('ROLLBACK')
  } finally {
    db.close()
  }
}

/** A PostgreSQL cluster in `dir`, owned by `postgres`, trust auth, on a free port: never the machine's. */
class PostgresCluster {
  private constructor(
    private readonly dir: string,
    private readonly port: number,
  ) {}

  static async start(): Promise<PostgresCluster> {
    // Not under the suite's work dir: that one is root's alone, and the server runs as postgres.
    const dir = mkdtempSync(join(tmpdir(), 'coinpipe-faults-pg-'))
    chownSync(dir, ...postgresIds())
    const port = await freePort()
    const cluster = new PostgresCluster(dir, port)
    await asPostgres(`${PG_BIN}/initdb`, ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
    await cluster.pgCtl([
      'start',
      '-w',
      '-l',
      join(dir, 'log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`,
    ])
    return cluster
  }

  private get data() {
    return join(this.dir, 'data')
  }

  private pgCtl(args: string[]) {
    return asPostgres(`${PG_BIN}/pg_ctl`, ['-D', this.data, ...args])
  }

  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: this.port,
      user: 'postgres',
      database: 'postgres',
    })
    client.on('error', () => undefined)
    await client.connect()
    try {
      await client.query(`CREATE DATABASE ${name}`)
    } finally {
      await client.end()
    }
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`
  }

  stop(mode: 'fast' | 'immediate') {
    return this.pgCtl(['stop', '-w', '-m', mode])
  }

  /** Started again with the options it first had (pg_ctl keeps them in postmaster.opts). */
  async startAgain() {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`
    await this.pgCtl(['start', '-w', '-l', join(this.dir, 'log'), '-o', opts])
  }

  async destroy() {
    await this.pgCtl(['stop', '-w', '-m', 'immediate']).catch(() => undefined)
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function asPostgres(command: string, args: string[]) {
  return run('runuser', ['-u', 'postgres', '--', command, ...args], { timeout: 60_000 })
}

function postgresIds(): [number, number] {
  const passwd = readFileSync('/etc/passwd', 'utf8')
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'))
  if (!line) throw new Error('no postgres user: PostgreSQL is not installed')
  const [, , uid, gid] = line.split(':')
  return [Number(uid), Number(gid)]
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

// ---------------------------------------------------------------------------------------------

function sqlitePath(url: string): string {
  const config = parseDatabaseUrl(url)
  if (config.kind !== 'sqlite') throw new Error(`not an SQLite URL: ${url}`)
  return config.path
}

function roundToPage(bytes: number): number {
  return Math.max(1, Math.round(bytes / 4096)) * 4096
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function killGroup(proc: StartedProcess): void {
  try {
    process.kill(-proc.pid, 'SIGKILL')
  } catch {
    // gone already
  }
}

function lastLine(result: ProcessResult): string {
  const lines = `${result.stderr}\n${result.stdout}`.trim().split('\n')
  return lines.slice(-3).join(' | ').slice(0, 600)
}
