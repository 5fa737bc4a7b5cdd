import { createWriteStream, renameSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseDatabaseUrl } from '../../src/config.js'
import { openDatabase } from '../../src/db/database.js'
import { findNewestObservationOf } from '../../src/db/repositories/record-repository.js'
import type { BenchDatabase, BenchServer } from '../../bench/bench-databases.js'
import { startFakeUpstream } from '../../fake-upstream/server.js'
import { cliEnv, runCli, startCli, type ProcessResult, type StartedProcess } from '../../test/helpers/cli.js'
import { seededRandom } from '../../test/helpers/seeded-random.js'
import { compareRecords, recordLines } from '../database-state.js'
import type { Scenario, ScenarioResult } from '../scenario.js'

/**
 * Scenario 6, disk and time.
 *
 * (a) The upstream's clock going backwards: the fake's snapshot time (every `last_updated` it
 * serves) moves forward and back between cycles, at random (seeded), sometimes back to a snapshot
 * already loaded. The rules (DESIGN.md §1, "Incremental, correctly"): observations are keyed by
 * `(asset, source, observed_at)` with the upstream's own `last_updated`, and no run keeps a global
 * "max timestamp" watermark. So after each cycle the records must be exactly the union of what
 * clean single cycles at each snapshot time so far load (an older observation is new data, not
 * skipped; a snapshot seen before loads 0 rows and conflicts with nothing), each run `succeeded`
 * with `loaded` = the observations new to the database, the markets checkpoint back at page 1 with
 * a `cycle_completed_at` that never goes back, and each source's newest observation never before
 * the newest ever served.
 *
 * (b) A CSV rewritten while it is being read: an import of a large file, and at a random moment the
 * file replaced (atomic rename) or rewritten in place (truncate and write) with another version:
 * one extending the original (same first bytes, rows added) or one with other rows altogether.
 * The first import must end `succeeded`, `partial` or `failed` with a CSV_ code, not crash; the
 * next import must load the final file completely (no record of it lost, none beyond it except
 * whole rows of the first version), and a third import must find nothing left to read: the
 * checkpoint describes the file as it is.
 */
const PROFILES = {
  short: { sequences: 1, cycles: 5, rewrites: 4, rows: 30_000 },
  full: { sequences: 3, cycles: 12, rewrites: 12, rows: 200_000 },
} as const
const MINUTE = 60_000
const SOURCES = ['coingecko', 'coinpaprika'] as const
const BATCH_ROWS = 2000
const RUN_TIMEOUT_MS = 300_000

const scenario: Scenario = {
  id: 'clock-and-rewrite',
  async run({ server, profile, seed, workDir }) {
    const options = { ...PROFILES[profile], seed, workDir }
    return [await clockBackwards(server, options), await rewriteDuringImport(server, options)]
  },
}
export default scenario

interface Options {
  readonly sequences: number
  readonly cycles: number
  readonly rewrites: number
  readonly rows: number
  readonly seed: number
  readonly workDir: string
}

interface RunSummary {
  readonly id: number
  readonly source: string
  readonly status: string
  readonly extracted: number
  readonly loaded: number
  readonly unchanged: number
  readonly rejected: number
  readonly error_code: string | null
}

/** A clean cycle at one snapshot time: its record lines and the rejections each source made. */
interface Snapshot {
  readonly lines: readonly string[]
  readonly rejected: Readonly<Record<string, number>>
}

// ---------------------------------------------------------------------------------------------
// (a) the clock going backwards

async function clockBackwards(server: BenchServer, options: Options): Promise<ScenarioResult> {
  const fake = await startFakeUpstream({
    coingeckoMarkets: 500,
    coinpaprikaTickers: 600,
    coinpaprikaPlan: 'paid',
  })
  const start = fake.now.getTime()
  const env = (url: string) =>
    cliEnv({
      DATABASE_URL: url,
      SOURCES: SOURCES.join(','),
      COINGECKO_BASE_URL: fake.coingeckoUrl,
      COINPAPRIKA_BASE_URL: fake.coinpaprikaUrl,
      COINGECKO_PER_PAGE: '250',
      COINGECKO_MAX_PAGES: '4',
      COINGECKO_RATE_LIMIT: '1000/1s',
      COINPAPRIKA_RATE_LIMIT: '1000/1s',
      UPSTREAM_RETRY_BASE_MS: '10',
      IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
    })
  const args = ['etl', 'run', '--source', 'coingecko', '--source', 'coinpaprika', '--json']
  const cwd = options.workDir
  const moveTo = (at: number) => fake.advance(at - fake.now.getTime())
  const cycle = async (url: string) => {
    const result = await runCli(args, { cwd, env: env(url), timeoutMs: RUN_TIMEOUT_MS })
    return { result, runs: summaries(result) }
  }

  // Clean single cycles, one per snapshot time, each into a database of its own.
  const references = new Map<number, Snapshot>()
  const referenceAt = async (at: number): Promise<Snapshot> => {
    const known = references.get(at)
    if (known) return known
    moveTo(at)
    const db = await server.create(`reliability_clock_ref_${references.size}`)
    try {
      const { result, runs } = await cycle(db.url)
      if (result.code !== 0 || runs.length !== SOURCES.length)
        throw new Error(`the clean cycle at ${new Date(at).toISOString()} failed:\n${result.stderr}`)
      const snapshot = {
        lines: await recordLines(db.url),
        rejected: Object.fromEntries(runs.map((r) => [r.source, r.rejected])),
      }
      references.set(at, snapshot)
      return snapshot
    } finally {
      await db.drop()
    }
  }

  const random = seededRandom(options.seed)
  let lost = 0
  let duplicated = 0
  let wrongStatus = 0
  let backwards = 0
  let revisits = 0
  const failures: string[] = []
  try {
    for (let sequence = 0; sequence < options.sequences; sequence++) {
      const times = clockSequence(random, start, options.cycles)
      const db = await server.create(`reliability_clock_${sequence}`)
      const step = (i: number) =>
        `sequence ${sequence} (seed ${options.seed}, snapshot times ${times.map((t) => `${(t - start) / MINUTE}m`).join(', ')}) cycle ${i}`
      try {
        const union = new Set<string>()
        let completedAt = ''
        for (let i = 0; i < times.length; i++) {
          const at = times[i]!
          if (i > 0 && at < times[i - 1]!) backwards++
          if (times.slice(0, i).includes(at)) revisits++
          const reference = await referenceAt(at)
          moveTo(at)
          const { result, runs } = await cycle(db.url)
          const fresh = reference.lines.filter((line) => !union.has(line))
          for (const line of reference.lines) union.add(line)
          const problems: string[] = []
          if (result.code !== 0)
            problems.push(`etl run exited ${result.code}: ${result.stderr.trim().slice(-1000)}`)
          for (const source of SOURCES) {
            const run = runs.find((r) => r.source === source)
            const expectLoaded = fresh.filter((line) => line.startsWith(`${source}|`)).length
            if (run?.status !== 'succeeded')
              problems.push(`${source} run ${run?.status ?? 'missing'} (${run?.error_code ?? '-'})`)
            else if (run.loaded !== expectLoaded || run.rejected !== reference.rejected[source])
              problems.push(
                `${source} run loaded ${run.loaded} (expected ${expectLoaded}) and rejected ${run.rejected} (expected ${reference.rejected[source]})`,
              )
          }
          const state = await stateOf(db.url)
          const diff = compareRecords([...union].sort(), state.lines)
          if (diff.lost + diff.duplicated > 0)
            problems.push(`${diff.lost} records lost and ${diff.duplicated} beyond the clean cycles'`)
          for (const source of SOURCES) {
            const expected = newestOf([...union], source)
            if (state.newest[source] !== expected)
              problems.push(`${source}'s newest observation is ${state.newest[source]}, expected ${expected}`)
          }
          const markets = state.checkpoints['coingecko/markets']
          if (markets?.next_page !== 1 || typeof markets.cycle_completed_at !== 'string')
            problems.push(`the markets checkpoint is ${JSON.stringify(markets)}, not a completed cycle`)
          else if (markets.cycle_completed_at < completedAt)
            problems.push(
              `the markets checkpoint went back from ${completedAt} to ${markets.cycle_completed_at}`,
            )
          else completedAt = markets.cycle_completed_at
          // The figures count the state at each sequence's end; any step gone wrong is a failure.
          if (i === times.length - 1) {
            lost += diff.lost
            duplicated += diff.duplicated
          }
          if (problems.some((p) => !p.includes('records lost'))) wrongStatus++
          if (problems.length > 0) failures.push(`${step(i)}: ${problems.join('; ')}`)
        }
      } finally {
        await db.drop()
      }
    }
  } finally {
    await fake.close()
  }
  const cycles = options.sequences * options.cycles
  return {
    scenario: 'upstream clock going backwards',
    dialect: server.dialect,
    trials: cycles,
    lost,
    duplicated,
    wrongStatus,
    fiveXx: null,
    p99Ms: null,
    detail:
      `${options.sequences} sequence(s) of ${options.cycles} cycles: ${backwards} moves back, ${revisits} back to a snapshot ` +
      `already loaded, ${references.size} distinct snapshots; seed ${options.seed}`,
    failures,
  }
}

/**
 * Snapshot times for one sequence, from `start`: forward a few minutes, back a few minutes, back to
 * a time already loaded, or back a day. The second move always goes back and the third revisits.
 */
function clockSequence(random: () => number, start: number, cycles: number): number[] {
  const times = [start]
  while (times.length < cycles) {
    const last = times.at(-1)!
    const minutes = 1 + Math.floor(random() * 15)
    const kind = times.length === 1 ? 1 : times.length === 2 ? 2 : Math.floor(random() * 4)
    const seen = [...new Set(times)].filter((t) => t !== last)
    if (kind === 0) times.push(last + minutes * MINUTE)
    else if (kind === 1) times.push(last - minutes * MINUTE)
    else if (kind === 2) times.push(seen[Math.floor(random() * seen.length)]!)
    else times.push(last - 24 * 60 * MINUTE)
  }
  return times
}

function newestOf(lines: readonly string[], source: string): string | undefined {
  let newest: string | undefined
  for (const line of lines) {
    const [from, , observedAt] = line.split('|')
    if (from === source && (newest === undefined || observedAt! > newest)) newest = observedAt
  }
  return newest
}

async function stateOf(url: string) {
  const lines = await recordLines(url)
  const db = await openDatabase(parseDatabaseUrl(url))
  try {
    const newest: Record<string, string | undefined> = {}
    for (const source of SOURCES) {
      const at = await findNewestObservationOf(db.kysely, source)
      newest[source] = at === undefined ? undefined : new Date(at).toISOString()
    }
    const rows = await db.kysely.selectFrom('checkpoints').select(['source', 'stream', 'cursor']).execute()
    const checkpoints = Object.fromEntries(
      rows.map((r) => [`${r.source}/${r.stream}`, JSON.parse(r.cursor) as Record<string, unknown>]),
    )
    return { lines, newest, checkpoints }
  } finally {
    await db.close()
  }
}

// ---------------------------------------------------------------------------------------------
// (b) a CSV rewritten while it is being read

type RewriteMode = 'rename' | 'in place'
type RewriteVersion = 'extended' | 'other'

async function rewriteDuringImport(server: BenchServer, options: Options): Promise<ScenarioResult> {
  const { workDir, rows } = options
  const cwd = workDir
  const env = (url: string) => cliEnv({ DATABASE_URL: url, CSV_BATCH_ROWS: String(BATCH_ROWS) })
  // The versions: the original, the original with rows added, and other rows altogether.
  const versions = {
    original: join(workDir, 'rewrite-original.csv'),
    extended: join(workDir, 'rewrite-extended.csv'),
    other: join(workDir, 'rewrite-other.csv'),
  }
  await writePriceCsv(versions.original, { rows, symbols: 'R', decimals: 3 })
  await writePriceCsv(versions.extended, { rows: Math.round(rows * 1.2), symbols: 'R', decimals: 3 })
  // Lines of other lengths: read on from the same offset, its rows would be torn.
  await writePriceCsv(versions.other, { rows, symbols: 'OTHER', decimals: 5 })
  if (
    !readFileSync(versions.extended)
      .subarray(0, readFileSync(versions.original).length)
      .equals(readFileSync(versions.original))
  )
    throw new Error('the extended CSV does not start with the original')

  // Clean imports of each version, and how long the original's reads after its first batch.
  const clean: Record<string, string[]> = {}
  let readingMs = 0
  for (const [name, path] of Object.entries(versions)) {
    const db = await server.create(`reliability_rewrite_ref_${name}`)
    try {
      const importing = startCli(['etl', 'run', '--file', path, '--json'], { cwd, env: env(db.url) })
      const firstBatch = await firstBatchIn(db, importing)
      const result = await importing.exited
      if (result.code !== 0) throw new Error(`the clean import of ${name} failed:\n${result.stderr}`)
      if (name === 'original') readingMs = performance.now() - firstBatch
      clean[name] = await recordLines(db.url)
    } finally {
      await db.drop()
    }
  }

  const random = seededRandom(options.seed ^ 0xc5f)
  const combos: [RewriteMode, RewriteVersion][] = [
    ['rename', 'extended'],
    ['rename', 'other'],
    ['in place', 'extended'],
    ['in place', 'other'],
  ]
  let lost = 0
  let duplicated = 0
  let wrongStatus = 0
  let midRead = 0
  const firstEndings = new Map<string, number>()
  const failures: string[] = []
  for (let trial = 0; trial < options.rewrites; trial++) {
    const [mode, version] = combos[trial % combos.length]!
    const rewriteAfterMs = Math.round(random() * 0.9 * readingMs)
    const file = join(workDir, `rewrite-${trial}.csv`)
    writeFileSync(file, readFileSync(versions.original))
    const args = ['etl', 'run', '--file', file, '--json']
    const db = await server.create(`reliability_rewrite_${trial}`)
    const what = `trial ${trial} (seed ${options.seed}, ${mode} rewrite to the ${version} version ${rewriteAfterMs} ms after the first batch)`
    try {
      const first = startCli(args, { cwd, env: env(db.url) })
      await firstBatchIn(db, first)
      await Promise.race([sleep(rewriteAfterMs), first.exited])
      if (!first.exitedYet()) midRead++
      if (mode === 'rename') {
        writeFileSync(`${file}.new`, readFileSync(versions[version]))
        renameSync(`${file}.new`, file)
      } else writeFileSync(file, readFileSync(versions[version]))
      const firstResult = await first.exited
      const problems: string[] = []
      const [firstRun] = summaries(firstResult)
      const ending = firstRun
        ? `${firstRun.status}${firstRun.error_code ? ` ${firstRun.error_code}` : ''}`
        : 'no run'
      const key = `${mode}/${version} ${ending}`
      firstEndings.set(key, (firstEndings.get(key) ?? 0) + 1)
      const crashed =
        firstResult.signal !== null ||
        (firstResult.code !== 0 && firstResult.code !== 1) ||
        firstResult.stderr.includes('run crashed on an unexpected error')
      if (crashed || !firstRun)
        problems.push(
          `the first import crashed (exit ${firstResult.code ?? firstResult.signal}): ${firstResult.stderr.trim().slice(-1000)}`,
        )
      else if (
        firstRun.status === 'running' ||
        (firstRun.status !== 'succeeded' && !firstRun.error_code?.startsWith('CSV_'))
      )
        problems.push(`the first import ended ${ending}, not succeeded or a CSV_ code`)

      const second = await runCli(args, { cwd, env: env(db.url), timeoutMs: RUN_TIMEOUT_MS })
      const [secondRun] = summaries(second)
      if (second.code !== 0 || secondRun?.status !== 'succeeded')
        problems.push(
          `the second import ended ${secondRun?.status ?? `exit ${second.code}`}: ${second.stderr.trim().slice(-1000)}`,
        )
      const third = await runCli(args, { cwd, env: env(db.url), timeoutMs: RUN_TIMEOUT_MS })
      const [thirdRun] = summaries(third)
      if (third.code !== 0 || thirdRun?.extracted !== 0)
        problems.push(
          `a third import of the unchanged file read ${thirdRun?.extracted ?? '?'} rows (exit ${third.code})`,
        )

      // Whole rows of the original may stay (they were in the file when read); nothing else may.
      const expected = clean[version]!
      const allowed = new Set(clean.original)
      const wanted = new Set(expected)
      const stored = (await recordLines(db.url)).filter((line) => wanted.has(line) || !allowed.has(line))
      const diff = compareRecords(expected, stored)
      if (diff.lost + diff.duplicated > 0)
        problems.push(
          `${diff.lost} records of the final file lost, ${diff.duplicated} records of neither version`,
        )
      lost += diff.lost
      duplicated += diff.duplicated
      if (problems.some((p) => !p.includes('records of the final file'))) wrongStatus++
      if (problems.length > 0) failures.push(`${what}: ${problems.join('; ')}`)
    } finally {
      await db.drop()
    }
  }
  return {
    scenario: `CSV rewritten while a ${rows.toLocaleString('en-US')}-row import reads it`,
    dialect: server.dialect,
    trials: options.rewrites,
    lost,
    duplicated,
    wrongStatus,
    fiveXx: null,
    p99Ms: null,
    detail:
      `${midRead} of ${options.rewrites} rewrites landed mid-import (${Math.round(readingMs)} ms of it after the first batch); first imports ended ` +
      `${[...firstEndings].map(([e, n]) => `${e} ×${n}`).join(', ')}; seed ${options.seed}`,
    failures,
  }
}

/**
 * A deterministic CSV of `rows` daily prices over 40 symbols named `<symbols>0`…: the first n rows
 * of a longer file are the bytes of a shorter one.
 */
async function writePriceCsv(
  path: string,
  opts: { rows: number; symbols: string; decimals: number },
): Promise<void> {
  const symbols = Array.from({ length: 40 }, (_, i) => `${opts.symbols}${i}`)
  function* chunks(): Generator<string> {
    yield 'date,symbol,price_usd,market_cap_usd\n'
    let lines: string[] = []
    for (let i = 0; i < opts.rows; i++) {
      const day = Math.floor(i / symbols.length)
      const date = new Date(Date.UTC(2001, 0, 1) + day * 86_400_000).toISOString().slice(0, 10)
      lines.push(
        `${date},${symbols[i % symbols.length]},${(50 + (i % 991) / 8).toFixed(opts.decimals)},${2000 * (day + 1)}`,
      )
      if (lines.length >= 1000) {
        yield `${lines.join('\n')}\n`
        lines = []
      }
    }
    if (lines.length > 0) yield `${lines.join('\n')}\n`
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path))
}

/** When (performance.now()) the import's first batch was in, or it ended; polled. */
async function firstBatchIn(db: BenchDatabase, importing: StartedProcess): Promise<number> {
  while (!importing.exitedYet() && (await db.countRecords()) === 0) await sleep(10)
  return performance.now()
}

/** The runs an `etl run --json` printed; none when it printed no summary. */
function summaries(result: ProcessResult): RunSummary[] {
  try {
    return (JSON.parse(result.stdout) as { runs: RunSummary[] }).runs
  } catch {
    return []
  }
}
