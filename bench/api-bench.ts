import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import SqliteDatabase from 'better-sqlite3'
import pg from 'pg'
import { formatCandleRun, measureCandles, type CandleSettings } from './api-candles.js'
import { combineLoads, measureLoad, type LoadResult, type LoadSettings } from './api-load.js'
import { startServer, type ServerProcess } from './api-process.js'
import { formatProfiles, summarizeProfile, type ProfileSummary } from './api-profile.js'
import { failureLines, formatRun, type DialectRun } from './api-report.js'
import {
  candleSeedPlan,
  seedPlan,
  seedPostgres,
  seedSqlite,
  type SeedPlan,
  type SeededDatabase,
} from './api-seed.js'

/**
 * API read benchmark (DESIGN.md §8): `GET /api/v1/records?asset=…&limit=100` over N records, against
 * a bare Fastify route running the same SQL, on SQLite and, when reachable, PostgreSQL. Each server
 * runs in its own process; autocannon loads it from this one.
 *
 *   npm run bench:api -- [--records N] [--duration S] [--warmup S] [--connections N] [--rounds N]
 *                        [--dialects sqlite,postgres] [--deep-pages N] [--cpu-prof DIR] [--redis]
 *                        [--cases records,candles] [--candle-records N] [--candle-every-min M]
 *
 * `--cases candles` (not run by default: it seeds 10,000,000 records per dialect, several minutes
 * each) times `GET /api/v1/assets/{id}/candles?interval=1h` over a year of one asset in a table of
 * `--candle-records` records, against a bare route running the same SQL; target p99 < 100 ms.
 *
 * Exits 1 when a request fails (non-2xx, error, timeout) or the two routes disagree; a missed
 * target is only reported.
 */

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const ROTATION_ASSETS = 50
const PAGE = 100

const { values: flags } = parseArgs({
  options: {
    records: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    rounds: { type: 'string' },
    dialects: { type: 'string' },
    'deep-pages': { type: 'string' },
    'cpu-prof': { type: 'string' },
    redis: { type: 'boolean' },
    cases: { type: 'string' },
    'candle-records': { type: 'string' },
    'candle-every-min': { type: 'string' },
    'candle-requests': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (flags.help) {
  console.log(
    'usage: npm run bench:api -- [--records N] [--duration S] [--warmup S] [--connections N] [--rounds N]\n' +
      '                            [--dialects sqlite,postgres] [--deep-pages N] [--cpu-prof DIR] [--redis]\n' +
      '--redis: coinpipe as a queue-mode replica, its API rate limit counted in Redis (BENCH_REDIS_URL,\n' +
      '         default redis://127.0.0.1:6379, under a prefix of its own, deleted afterwards)\n' +
      '--rounds N: repeats (bare, first page, deep page) N times, interleaved, and pools the results\n' +
      'env: BENCH_RECORDS, BENCH_DURATION, BENCH_POSTGRES_URL (admin URL, default ' +
      `${DEFAULT_POSTGRES_URL})\n` +
      '--cpu-prof DIR: after the measurements, profiles each server under the first-page load and\n' +
      '                prints where its time goes (profiles are kept in DIR)\n' +
      '--cases records,candles: which cases run (default records). candles: GET\n' +
      '         /api/v1/assets/{id}/candles?interval=1h over a year of one asset observed by two sources,\n' +
      '         in a table of --candle-records N records (default 10,000,000: seeding takes minutes per\n' +
      '         dialect), one request at a time (--candle-requests N, default 50) beside a bare route\n' +
      '         running the same SQL; target p99 < 100 ms. --candle-every-min M (default 60): one\n' +
      '         observation per source every M minutes (10: the default ETL schedule, 105,120 records)',
  )
  process.exit(0)
}

const records = positiveInt(flags.records ?? process.env.BENCH_RECORDS ?? '1000000', 'records')
const settings: LoadSettings = {
  connections: positiveInt(flags.connections ?? '50', 'connections'),
  rounds: positiveInt(flags.rounds ?? '1', 'rounds'),
  warmupSeconds: nonNegativeInt(flags.warmup ?? '2', 'warmup'),
  durationSeconds: positiveInt(flags.duration ?? process.env.BENCH_DURATION ?? '10', 'duration'),
}
const deepPages = positiveInt(flags['deep-pages'] ?? '15', 'deep-pages')
const dialects = (flags.dialects ?? 'sqlite,postgres').split(',').map((d) => d.trim())
const cases = new Set((flags.cases ?? 'records').split(',').map((c) => c.trim()))
for (const name of cases)
  if (name !== 'records' && name !== 'candles')
    throw new Error(`unknown case ${name}: expected records or candles`)
const candleRecords = positiveInt(flags['candle-records'] ?? '10000000', 'candle-records')
const candleEveryMinutes = positiveInt(flags['candle-every-min'] ?? '60', 'candle-every-min')
const candleSettings: CandleSettings = {
  warmupRequests: 5,
  requests: positiveInt(flags['candle-requests'] ?? '50', 'candle-requests'),
}
const postgresUrl = process.env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL
const cpuProfDir = flags['cpu-prof'] === undefined ? undefined : resolve(flags['cpu-prof'])
if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })

const workDir = mkdtempSync(join(tmpdir(), 'coinpipe-benchapi-'))
const cleanups: (() => Promise<void>)[] = []
let cleaned = false
async function cleanUp(): Promise<void> {
  if (cleaned) return
  cleaned = true
  for (const fn of cleanups.reverse()) await fn().catch((e: unknown) => console.error(e))
  rmSync(workDir, { recursive: true, force: true })
}
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)))

const problems: string[] = []
try {
  console.log(machineInfo())
  if (flags.redis) await useRedis()
  const plan = seedPlan(records)
  for (const dialect of dialects) {
    if (!cases.has('records')) break
    const seeded = await seed(dialect, plan)
    if (seeded === undefined) continue
    const run = await benchDialect(dialect, seeded, plan)
    console.log(`\n${formatRun(run, settings)}`)
    problems.push(...failureLines(run))
    if (cpuProfDir !== undefined) await profileServers(dialect, seeded.url, plan, cpuProfDir)
    await seeded.dispose()
  }
  const candlePlan = cases.has('candles') ? candleSeedPlan(candleRecords, candleEveryMinutes) : undefined
  for (const dialect of candlePlan ? dialects : []) {
    const seeded = await seed(dialect, candlePlan!)
    if (seeded === undefined) continue
    console.log(`\n${await benchCandles(dialect, seeded, candlePlan!)}`)
    await seeded.dispose()
  }
} catch (error) {
  problems.push(error instanceof Error ? (error.stack ?? error.message) : String(error))
} finally {
  await cleanUp()
}
if (problems.length > 0) {
  console.error(`\nFAILED:\n${problems.map((p) => `  ${p}`).join('\n')}`)
  process.exit(1)
}

/** `--redis`: the coinpipe server counts its rate limit in Redis, under a prefix deleted at the end. */
async function useRedis(): Promise<void> {
  const { connectRedis, deleteKeys } = await import('../test/helpers/shared-redis.js')
  const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
  const prefix = `coinpipe-bench-api-${process.pid}`
  const redis = await connectRedis('coinpipe-bench-api-cleanup', url)
  process.env.BENCH_API_REDIS_URL = url
  process.env.BENCH_API_REDIS_PREFIX = prefix
  cleanups.push(async () => {
    await deleteKeys(redis, prefix)
    redis.disconnect()
  })
  console.log(`coinpipe in queue mode: its API rate limit counted in Redis at ${url} (prefix ${prefix})`)
}

async function seed(dialect: string, plan: SeedPlan): Promise<SeededDatabase | undefined> {
  switch (dialect) {
    case 'sqlite':
      return seedSqlite(join(workDir, 'records.db'), plan)
    case 'postgres': {
      const seeded = await seedPostgres(postgresUrl, plan)
      if (seeded === undefined) {
        console.log(
          `\nPostgreSQL: skipped, ${new URL(postgresUrl).host} is not reachable (BENCH_POSTGRES_URL)`,
        )
        return undefined
      }
      cleanups.push(() => seeded.dispose())
      return seeded
    }
    default:
      throw new Error(`unknown dialect ${dialect}: expected sqlite or postgres`)
  }
}

async function benchDialect(dialect: string, seeded: SeededDatabase, plan: SeedPlan): Promise<DialectRun> {
  const servers = await startServers(seeded.url)
  try {
    const [coinpipe, bare] = servers
    const assets = rotationAssets(plan)
    await checkSameRows(coinpipe, bare, assets[0]!)
    const deep = await deepCursors(coinpipe, assets)
    const firstPaths = assets.map((a) => `/api/v1/records?asset=${a}&limit=${PAGE}`)
    const barePaths = assets.map((a) => `/records?asset=${a}&limit=${PAGE}`)
    const deepPaths = deep.cursors.map(
      ({ asset, cursor }) => `/api/v1/records?asset=${asset}&limit=${PAGE}&cursor=${cursor}`,
    )
    const loads = [
      { server: bare, paths: barePaths, results: [] as LoadResult[] },
      { server: coinpipe, paths: firstPaths, results: [] as LoadResult[] },
      { server: coinpipe, paths: deepPaths, results: [] as LoadResult[] },
    ] as const
    const loadAverages: number[] = []
    for (let round = 0; round < settings.rounds; round++) {
      loadAverages.push(loadavg()[0]!)
      // Each round starts with the next kind, so none always runs first (or last) on a busy machine.
      for (let k = 0; k < loads.length; k++) {
        const load = loads[(round + k) % loads.length]!
        load.results.push(await measureLoad(load.server.baseUrl, load.paths, settings, load.server.pid))
      }
    }
    const [bareLoad, firstLoad, deepLoad] = loads
    return {
      title: dialect === 'sqlite' ? 'SQLite' : `PostgreSQL ${await postgresVersion(seeded.url)}`,
      records: plan.records,
      assets: plan.assets.length,
      timestamps: plan.timestamps,
      seedSeconds: seeded.seedSeconds,
      where: seeded.where,
      baselineLabel:
        dialect === 'sqlite'
          ? 'bare Fastify, better-sqlite3 prepared statement, same SQL'
          : 'bare Fastify, pg pool (10) query, same SQL',
      deepFrom: deep.skipped + 1,
      rotation: assets.length,
      loadAverages,
      bare: combineLoads(bareLoad.results),
      first: combineLoads(firstLoad.results),
      deep: combineLoads(deepLoad.results),
      roundRatios: firstLoad.results.map(
        (r, i) => r.requestsPerSecond / bareLoad.results[i]!.requestsPerSecond,
      ),
      roundDeepRatios: deepLoad.results.map(
        (r, i) => r.requestsPerSecond / firstLoad.results[i]!.requestsPerSecond,
      ),
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
}

async function benchCandles(dialect: string, seeded: SeededDatabase, plan: SeedPlan): Promise<string> {
  const [coinpipe, bare] = await startServers(seeded.url)
  try {
    const measured = await measureCandles(coinpipe, bare, plan, candleSettings)
    return formatCandleRun({
      title: dialect === 'sqlite' ? 'SQLite' : `PostgreSQL ${await postgresVersion(seeded.url)}`,
      records: plan.records,
      assetRecords: plan.candles!.records,
      everyMinutes: candleEveryMinutes,
      seedSeconds: seeded.seedSeconds,
      where: seeded.where,
      ...measured,
    })
  } finally {
    await Promise.all([coinpipe.stop(), bare.stop()])
  }
}

async function startServers(url: string): Promise<[ServerProcess, ServerProcess]> {
  const [coinpipe, bare] = await Promise.allSettled([startServer('coinpipe', url), startServer('bare', url)])
  for (const started of [coinpipe, bare])
    if (started.status === 'fulfilled') cleanups.push(() => started.value.stop())
  if (coinpipe.status === 'fulfilled' && bare.status === 'fulfilled') return [coinpipe.value, bare.value]
  for (const started of [coinpipe, bare]) if (started.status === 'fulfilled') await started.value.stop()
  throw coinpipe.status === 'rejected' ? coinpipe.reason : (bare as PromiseRejectedResult).reason
}

/** Up to 50 asset ids spread evenly over the seeded assets. */
function rotationAssets(plan: SeedPlan): string[] {
  const n = Math.min(ROTATION_ASSETS, plan.assets.length)
  return Array.from({ length: n }, (_, i) => plan.assets[Math.floor((i * plan.assets.length) / n)]!.id)
}

interface Page {
  data: { id: number | string }[]
  page?: { next_cursor: string | null }
}

async function getPage(server: ServerProcess, path: string): Promise<Page> {
  const response = await fetch(`${server.baseUrl}${path}`)
  if (!response.ok) throw new Error(`${server.kind} GET ${path}: HTTP ${response.status}`)
  return (await response.json()) as Page
}

/** Both routes must answer the same records in the same order, or the comparison means nothing. */
async function checkSameRows(coinpipe: ServerProcess, bare: ServerProcess, asset: string): Promise<void> {
  const ours = await getPage(coinpipe, `/api/v1/records?asset=${asset}&limit=${PAGE}`)
  const theirs = await getPage(bare, `/records?asset=${asset}&limit=${PAGE}`)
  const ids = (page: Page) => page.data.map((r) => String(r.id)).join(',')
  if (ours.data.length === 0 || ids(ours) !== ids(theirs)) {
    throw new Error(`coinpipe and the bare route disagree on the first page of ${asset}`)
  }
}

/** Walks `deepPages` pages of each asset through coinpipe's own cursors (fewer if history is short). */
async function deepCursors(
  coinpipe: ServerProcess,
  assets: readonly string[],
): Promise<{ skipped: number; cursors: { asset: string; cursor: string }[] }> {
  const cursors: { asset: string; cursor: string }[] = []
  let skipped = Infinity
  for (const asset of assets) {
    let cursor: string | undefined
    let pages = 0
    for (; pages < deepPages; pages++) {
      const query = cursor === undefined ? '' : `&cursor=${cursor}`
      const page = await getPage(coinpipe, `/api/v1/records?asset=${asset}&limit=${PAGE}${query}`)
      const next = page.page?.next_cursor
      if (next === null || next === undefined) break
      cursor = next
    }
    if (cursor === undefined) throw new Error(`${asset} has a single page: seed more records`)
    cursors.push({ asset, cursor })
    skipped = Math.min(skipped, pages * PAGE)
  }
  return { skipped, cursors }
}

/** Profiles each server under the first-page load, then bills its CPU time per request by activity. */
async function profileServers(dialect: string, url: string, plan: SeedPlan, dir: string): Promise<void> {
  const assets = rotationAssets(plan)
  const summaries: ProfileSummary[] = []
  const paths: string[] = []
  for (const kind of ['coinpipe', 'bare'] as const) {
    const profileDir = mkdtempSync(join(dir, `api-${dialect}-${kind}-`))
    const server = await startServer(kind, url, { cpuProfileDir: profileDir })
    cleanups.push(() => server.stop())
    let result: LoadResult
    try {
      const route = kind === 'coinpipe' ? '/api/v1/records' : '/records'
      result = await measureLoad(
        server.baseUrl,
        assets.map((a) => `${route}?asset=${a}&limit=${PAGE}`),
        settings,
      )
    } finally {
      await server.stop()
    }
    const mainThread = readdirSync(profileDir).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f))
    if (mainThread === undefined) throw new Error(`no main-thread CPU profile in ${profileDir}`)
    paths.push(join(profileDir, mainThread))
    summaries.push(summarizeProfile(paths.at(-1)!, resolve('.'), result.requests + result.warmupRequests))
    problems.push(
      ...Object.entries(result.failures).map(([k, n]) => `${dialect} ${kind} profiled: ${k} ${n}`),
    )
  }
  const [coinpipe, bare] = summaries as [ProfileSummary, ProfileSummary]
  console.log(`\n${formatProfiles(`${dialect} profiles, first-page load`, coinpipe, bare)}`)
  console.log(`  profiles: ${paths.join(', ')}`)
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ server_version: string }>('show server_version')
    return rows[0]?.server_version ?? '?'
  } finally {
    await client.end()
  }
}

function machineInfo(): string {
  const cpu = cpus()
  const sqlite = new SqliteDatabase(':memory:')
  const sqliteVersion = (sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v
  sqlite.close()
  return [
    `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
      `${type()} ${release()}, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    `node ${process.version}, SQLite ${sqliteVersion}; ` +
      (cases.has('records') ? `records ${records.toLocaleString('en-US')}, ` : '') +
      (cases.has('candles') ? `candle records ${candleRecords.toLocaleString('en-US')}, ` : '') +
      `dialects ${dialects.join(', ')}`,
  ].join('\n')
}

function positiveInt(value: string, name: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`)
  return n
}

function nonNegativeInt(value: string, name: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${value}`)
  return n
}
