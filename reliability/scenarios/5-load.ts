import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, Pool } from 'undici'
import { withDatabase } from '../database-state.js'
import { seedPlan, seedPostgresDatabase, seedSqlite, type SeedPlan } from '../../bench/api-seed.js'
import type { BenchDatabase, BenchServer } from '../../bench/bench-databases.js'
import { connectRedis, deleteKeys, redisAnswers } from '../../test/helpers/shared-redis.js'
import { seededRandom } from '../../test/helpers/seeded-random.js'
import type { Scenario, ScenarioResult } from '../scenario.js'
import {
  percentile,
  rssGrowth,
  sampleRss,
  startCoinpipe,
  startFakeUpstream,
  startServe,
  type CoinpipeChild,
  type FakeUpstream,
} from '../serve-process.js'

/**
 * Scenario 4 of issue 13, load: `coinpipe serve` over a seeded database, read by 50 connections of
 * mixed routes while the ETL runs every 30 s against the fake upstream and a writer POSTs records.
 * Judged: no connection error or timeout, no 5xx, every read 2xx, every write accepted (201, or 200
 * for a deliberate resend) and readable afterwards with its values, every ETL run that started in
 * the window succeeded (or was skipped with RUN_SKIPPED for meeting a run of its source, as designed),
 * and the server's RSS flat over the second half (see `rssGrowth`). Reported:
 * p99 per route. In queue mode (Redis reachable) the same with a `coinpipe worker` running the ETL.
 */

const PROFILES = {
  short: { seconds: 60, queueSeconds: 30, records: 100_000 },
  full: { seconds: 600, queueSeconds: 600, records: 1_000_000 },
} as const

const CONNECTIONS = 50
const WRITES_PER_SECOND = 5
/** Every this-many writes, the previous body again: the API must answer 200, not store it twice. */
const RESEND_EVERY = 10
/** A client timeout: a read this slow counts as an error. */
const TIMEOUT_MS = 10_000
/** The fake upstream's size, as `bench:cycle` measures one cycle: 2 pages of markets + one of tickers. */
const MARKETS = 500
const TICKERS = 2000
const PER_PAGE = 250
/** Allowed RSS growth: the last quarter's peak over the second quarter's (see `rssGrowth`). */
const MAX_RSS_RATIO = 1.1
const API_KEY = `reliability-load-${randomUUID()}`
/** Where ETL runs are given to finish (the first, cold cycle resolves 2,500 new assets). */
const RUNS_SETTLE_MS = 180_000

type Route = 'records' | 'records cursor' | 'assets' | 'asset' | 'runs' | 'stats' | 'health' | 'write'

const scenario: Scenario = {
  id: 'load',
  async run({ server, profile, seed, workDir, redisUrl }) {
    const settings = PROFILES[profile]
    const plan = seedPlan(settings.records)
    const db = await seedDatabase(server, plan)
    const upstream = await startFakeUpstream(MARKETS, TICKERS)
    try {
      const rows = [
        await loadRun(server.dialect, db, upstream, plan, { seconds: settings.seconds, seed, workDir }),
      ]
      if (redisUrl !== undefined && (await redisAnswers(redisUrl)))
        rows.push(
          await loadRun(server.dialect, db, upstream, plan, {
            seconds: settings.queueSeconds,
            seed: seed + 1,
            workDir,
            redisUrl,
          }),
        )
      return rows
    } finally {
      await upstream.stop()
      await db.drop()
    }
  },
}
export default scenario

interface RunOptions {
  readonly seconds: number
  readonly seed: number
  readonly workDir: string
  /** Set: queue mode, with a worker running the ETL. */
  readonly redisUrl?: string
}

async function loadRun(
  dialect: string,
  db: BenchDatabase,
  upstream: FakeUpstream,
  plan: SeedPlan,
  options: RunOptions,
): Promise<ScenarioResult> {
  const queue = options.redisUrl !== undefined
  const prefix = `coinpipe-reliability-load-${randomUUID().slice(0, 8)}`
  const vars: Record<string, string> = {
    DATABASE_URL: db.url,
    SOURCES: 'coingecko,coinpaprika',
    COINGECKO_BASE_URL: upstream.coingeckoUrl,
    COINPAPRIKA_BASE_URL: upstream.coinpaprikaUrl,
    COINGECKO_PER_PAGE: String(PER_PAGE),
    COINGECKO_MAX_PAGES: String(MARKETS / PER_PAGE),
    // Outbound limits pace real upstreams; the fake one would only make runs wait.
    COINGECKO_RATE_LIMIT: '10000/1s',
    COINPAPRIKA_RATE_LIMIT: '10000/1s',
    IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
    IDENTITY_COINS_LIST_REFRESH_MS: '0',
    ETL_SCHEDULE: '*/30 * * * * *',
    ETL_RUN_ON_START: 'true',
    API_KEYS: API_KEY,
    // One client at full speed: the limiter still runs on every request, under a ceiling never reached.
    API_RATE_LIMIT: '100000000/1min',
    LOG_LEVEL: 'warn',
    ...(queue ? { REDIS_URL: options.redisUrl, QUEUE_PREFIX: prefix } : {}),
  }
  const label = queue ? `${dialect} + queue` : dialect
  const failures: string[] = []
  const runsBefore = await lastRunId(db.url)
  const children: CoinpipeChild[] = []
  try {
    const serve = await startServe(vars, options.workDir)
    children.push(serve)
    if (queue) children.push(startCoinpipe(['worker'], vars, options.workDir))
    // The start-up runs (the cold cycle) are not part of the window.
    await settleRuns(db.url, runsBefore, { requireEachSource: true })
    const targets = await readTargets(serve.baseUrl, plan)

    await upstream.advance(5 * 60_000)
    const rss = sampleRss(serve.pid, 1000)
    const windowStart = new Date()
    const stats = new LoadStats()
    const deadline = performance.now() + options.seconds * 1000
    const advancing = advanceEvery(upstream, 30_000, deadline)
    const writes = writer(serve.baseUrl, options.seed, deadline, stats, queue ? 'Q' : 'P')
    await readers(serve.baseUrl, targets, seededRandom(options.seed), deadline, stats)
    const written = await writes
    await advancing
    const windowMs = rss.elapsedMs()
    const windowEnd = new Date()
    rss.stop()
    const memory = rssGrowth(rss.samples, 0, windowMs)

    await settleRuns(db.url, runsBefore, { requireEachSource: false })
    const readback = await readBack(serve.baseUrl, written.accepted)
    await Promise.all(children.map((c) => c.stop()))
    const alive = children.every((c) => c.proc.exitedYet())
    const exitCodes = await Promise.all(children.map((c) => c.proc.exited))
    // Every run this server or worker started up to the window's end: the start-up runs too.
    const runs = (await runsAfter(db.url, runsBefore)).filter(
      (r) => new Date(r.startedAt).getTime() <= windowEnd.getTime(),
    )
    const inWindow = runs.filter((r) => new Date(r.startedAt).getTime() >= windowStart.getTime()).length
    // A tick that finds its source still running is skipped and recorded (RUN_SKIPPED), by design: one
    // run per source at a time. In queue mode the start-up job and the first scheduled one can meet.
    const skippedRuns = runs.filter((r) => r.status === 'skipped' && r.errorCode === 'RUN_SKIPPED')
    const badRuns = runs.filter((r) => r.status !== 'succeeded' && !skippedRuns.includes(r))

    const fiveXx = stats.fiveXx()
    const errors = stats.errorCount()
    const refusedReads = stats.refusedReads()
    for (const [kind, n] of Object.entries(stats.errors))
      failures.push(`${n} × ${kind} (seed ${options.seed})`)
    for (const [what, n] of Object.entries(stats.unexpected))
      failures.push(`${n} × ${what} (seed ${options.seed})`)
    for (const r of badRuns)
      failures.push(
        `ETL run ${r.id} (${r.source}) ended ${r.status} ${r.errorCode ?? ''}: ${r.errorMessage ?? ''}`,
      )
    if (inWindow === 0) failures.push('no ETL run started during the window')
    failures.push(...written.refused, ...readback.problems)
    if (memory.ratio > MAX_RSS_RATIO)
      failures.push(
        `RSS grew: last-quarter peak ${memory.lastQuarterMaxMb.toFixed(1)} MB > ${MAX_RSS_RATIO} × second-quarter peak ${memory.secondQuarterMaxMb.toFixed(1)} MB`,
      )
    for (const [i, exit] of exitCodes.entries())
      if (exit.code !== 0)
        failures.push(`${i === 0 ? 'serve' : 'worker'} exited ${exit.signal ?? exit.code} on SIGTERM`)
    if (!alive) failures.push('a process did not stop')

    const p99s = stats.p99s()
    const worst = Math.max(...Object.values(p99s))
    const requests = stats.total()
    return {
      scenario: `load: 50 connections of mixed reads + writer + ETL every 30 s, ${options.seconds} s`,
      dialect: label,
      trials: requests,
      lost: readback.lost,
      duplicated: readback.wrong,
      wrongStatus: badRuns.length + written.refused.length + refusedReads,
      fiveXx,
      p99Ms: Math.round(worst),
      detail:
        `${requests} requests (${(requests / options.seconds).toFixed(0)}/s), ${errors} errors, ` +
        `${written.accepted.length} writes accepted (${written.resent} resends), ${runs.length} ETL runs ` +
        `(${inWindow} in the window, ${runs.length - badRuns.length - skippedRuns.length} succeeded, ` +
        `${skippedRuns.length} skipped as overlapping a run of their source); p99 ms ` +
        Object.entries(p99s)
          .map(([route, ms]) => `${route} ${ms.toFixed(0)}`)
          .join(', ') +
        `; RSS MB peak q2 ${memory.secondQuarterMaxMb.toFixed(1)}, q4 ${memory.lastQuarterMaxMb.toFixed(1)} ` +
        `(×${memory.ratio.toFixed(3)}, limit ×${MAX_RSS_RATIO}; last-half slope ${memory.lastHalfSlopeMbPerMin.toFixed(2)} MB/min, ` +
        `${memory.samples} samples); ${plan.records.toLocaleString('en-US')} seeded records; seed ${options.seed}`,
      failures,
    }
  } finally {
    await Promise.all(children.map((c) => c.stop()))
    if (queue) {
      const redis = await connectRedis('coinpipe reliability load cleanup', options.redisUrl)
      try {
        await deleteKeys(redis, prefix)
      } finally {
        redis.disconnect()
      }
    }
  }
}

/** Request counts and latencies by route, errors by kind. */
class LoadStats {
  readonly latencies = new Map<Route, number[]>()
  readonly statuses = new Map<Route, Map<number, number>>()
  readonly errors: Record<string, number> = {}
  readonly unexpected: Record<string, number> = {}

  answered(route: Route, status: number, ms: number, expected: (status: number) => boolean): void {
    let list = this.latencies.get(route)
    if (!list) this.latencies.set(route, (list = []))
    list.push(ms)
    let counts = this.statuses.get(route)
    if (!counts) this.statuses.set(route, (counts = new Map<number, number>()))
    counts.set(status, (counts.get(status) ?? 0) + 1)
    if (!expected(status)) {
      const what = `${route} answered HTTP ${status}`
      this.unexpected[what] = (this.unexpected[what] ?? 0) + 1
    }
  }

  failed(route: Route, error: unknown): void {
    const code = (error as { code?: string }).code ?? (error as Error).name
    const kind = `${route}: ${code}`
    this.errors[kind] = (this.errors[kind] ?? 0) + 1
  }

  total(): number {
    return [...this.latencies.values()].reduce((n, l) => n + l.length, 0) + this.errorCount()
  }

  errorCount(): number {
    return Object.values(this.errors).reduce((n, c) => n + c, 0)
  }

  fiveXx(): number {
    let n = 0
    for (const counts of this.statuses.values()) for (const [s, c] of counts) if (s >= 500) n += c
    return n
  }

  refusedReads(): number {
    let n = 0
    for (const [route, counts] of this.statuses)
      if (route !== 'write') for (const [s, c] of counts) if (s >= 300 && s < 500) n += c
    return n
  }

  p99s(): Record<string, number> {
    return Object.fromEntries(
      [...this.latencies]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([route, list]) => [route, percentile(list, 99)]),
    )
  }
}

interface Targets {
  readonly seededAssets: readonly string[]
  /** Every asset id the API lists at the start (seeded and the ETL's). */
  readonly assets: readonly string[]
  readonly cursors: readonly { asset: string; cursor: string }[]
}

const ROTATION = 40
const DEEP_ASSETS = 10
const DEEP_PAGES = 8

/** Asset ids to read and deep cursors, found through the API itself. */
async function readTargets(baseUrl: string, plan: SeedPlan): Promise<Targets> {
  const n = Math.min(ROTATION, plan.assets.length)
  const seededAssets = Array.from(
    { length: n },
    (_, i) => plan.assets[Math.floor((i * plan.assets.length) / n)]!.id,
  )
  const listed = await getJson<{ data: { id: string }[] }>(`${baseUrl}/api/v1/assets?limit=200`)
  const assets = [...new Set([...seededAssets, ...listed.data.map((a) => a.id)])]
  const cursors: { asset: string; cursor: string }[] = []
  for (const asset of seededAssets.slice(0, DEEP_ASSETS)) {
    let cursor: string | undefined
    for (let page = 0; page < DEEP_PAGES; page++) {
      const query = cursor === undefined ? '' : `&cursor=${cursor}`
      const body = await getJson<{ page: { next_cursor: string | null } }>(
        `${baseUrl}/api/v1/records?asset=${asset}&limit=100${query}`,
      )
      if (body.page.next_cursor === null) break
      cursor = body.page.next_cursor
      cursors.push({ asset, cursor })
    }
  }
  if (cursors.length === 0) throw new Error('no record page has a next cursor: seed more records')
  return { seededAssets, assets, cursors }
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`)
  return (await response.json()) as T
}

/** One read: its route (for the per-route figures) and path. */
function nextRead(random: () => number, targets: Targets): [Route, string] {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!
  const asset = pick(targets.seededAssets)
  const symbol = `BC${asset.slice(-4)}`
  const r = random()
  if (r < 0.3) {
    const from = new Date(Date.UTC(2025, 0, 1) + Math.floor(random() * 60) * 86_400_000)
    const to = new Date(from.getTime() + 7 * 86_400_000)
    return [
      'records',
      pick([
        `/api/v1/records?asset=${asset}&limit=100`,
        `/api/v1/records?symbol=${symbol}&limit=50&order=asc`,
        `/api/v1/records?asset=${asset}&from=${from.toISOString()}&to=${to.toISOString()}&limit=100`,
        `/api/v1/records?source=${pick(['coingecko', 'coinpaprika'])}&limit=100`,
        `/api/v1/records?limit=100`,
        `/api/v1/records?asset=${asset}&include_total=true&limit=20`,
      ]),
    ]
  }
  if (r < 0.45) {
    const { asset: deep, cursor } = pick(targets.cursors)
    return ['records cursor', `/api/v1/records?asset=${deep}&limit=100&cursor=${cursor}`]
  }
  if (r < 0.6)
    return ['assets', pick(['/api/v1/assets', '/api/v1/assets?limit=100', `/api/v1/assets?symbol=${symbol}`])]
  if (r < 0.75) return ['asset', `/api/v1/assets/${encodeURIComponent(pick(targets.assets))}`]
  if (r < 0.85)
    return [
      'runs',
      pick(['/api/v1/runs?limit=20', `/api/v1/runs?source=${pick(['coingecko', 'coinpaprika'])}`]),
    ]
  if (r < 0.95) return ['stats', '/api/v1/stats']
  return ['health', '/health']
}

/** `CONNECTIONS` loops, each one request at a time, until `deadline`. */
async function readers(
  baseUrl: string,
  targets: Targets,
  random: () => number,
  deadline: number,
  stats: LoadStats,
): Promise<void> {
  const pool = new Pool(baseUrl, {
    connections: CONNECTIONS,
    pipelining: 1,
    headersTimeout: TIMEOUT_MS,
    bodyTimeout: TIMEOUT_MS,
  })
  const loop = async () => {
    while (performance.now() < deadline) {
      const [route, path] = nextRead(random, targets)
      const started = performance.now()
      try {
        const response = await pool.request({ method: 'GET', path })
        for await (const chunk of response.body) void chunk
        stats.answered(route, response.statusCode, performance.now() - started, (s) => s >= 200 && s < 300)
      } catch (error) {
        stats.failed(route, error)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, loop))
  } finally {
    await pool.close()
  }
}

interface Written {
  readonly id: number
  readonly body: { symbol: string; observed_at: string; price_usd: number }
}

/** POSTs `WRITES_PER_SECOND` records a second until `deadline`; every `RESEND_EVERY`th resends the last. */
async function writer(baseUrl: string, seed: number, deadline: number, stats: LoadStats, tag: string) {
  const client = new Client(baseUrl, { headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS })
  const random = seededRandom(seed + 7)
  const accepted: Written[] = []
  const refused: string[] = []
  let resent = 0
  let last: Written['body'] | undefined
  const startedAt = performance.now()
  // Minutes apart, from a start of its own per run: never a key another write or the ETL uses. The
  // seed picks a minute within two years of 2030 (a seed of 2^31 minutes would be the year 4817,
  // which the API rightly refuses).
  const base = Date.UTC(2030, 0, 1) + (seed % 1_000_000) * 60_000
  try {
    for (let n = 0; performance.now() < deadline; n++) {
      const resend = last !== undefined && n % RESEND_EVERY === 0
      const body = resend
        ? last!
        : {
            symbol: `RLW${tag}${n % 5}`,
            name: `Reliability Writer ${tag}${n % 5}`,
            observed_at: new Date(base + n * 60_000).toISOString(),
            price_usd: Math.round(random() * 1e8) / 100,
          }
      const started = performance.now()
      try {
        const response = await client.request({
          method: 'POST',
          path: '/api/v1/records',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
          body: JSON.stringify(body),
        })
        const text = await response.body.text()
        const expected = resend ? 200 : 201
        stats.answered('write', response.statusCode, performance.now() - started, (s) => s === expected)
        if (response.statusCode === expected) {
          if (resend) resent++
          else accepted.push({ id: (JSON.parse(text) as { id: number }).id, body })
        } else {
          refused.push(
            `write ${n}${resend ? ' (a resend)' : ''} answered ${response.statusCode}: ${text.slice(0, 300)}`,
          )
        }
      } catch (error) {
        stats.failed('write', error)
        refused.push(`write ${n}: ${(error as Error).message}`)
      }
      last = body
      const due = startedAt + ((n + 1) * 1000) / WRITES_PER_SECOND
      if (due > performance.now()) await sleep(due - performance.now())
    }
  } finally {
    await client.close()
  }
  return { accepted, refused, resent }
}

/** Every accepted write, read back by id: missing is lost, other values are wrong. */
async function readBack(baseUrl: string, accepted: readonly Written[]) {
  let lost = 0
  let wrong = 0
  const problems: string[] = []
  for (const { id, body } of accepted) {
    const response = await fetch(`${baseUrl}/api/v1/records/${id}`)
    if (response.status === 404) {
      lost++
      problems.push(`record ${id} (${body.symbol} at ${body.observed_at}) was accepted but is not there`)
      continue
    }
    const record = (await response.json()) as { observed_at?: string; price_usd?: number }
    if (!response.ok || record.price_usd !== body.price_usd || record.observed_at !== body.observed_at) {
      wrong++
      problems.push(`record ${id} reads back as ${response.status} ${JSON.stringify(record).slice(0, 300)}`)
    }
  }
  return { lost, wrong, problems }
}

/** Moves the fake upstream's clock every `everyMs`, so each ETL run has new records to load. */
async function advanceEvery(upstream: FakeUpstream, everyMs: number, deadline: number): Promise<void> {
  for (;;) {
    const wait = Math.min(everyMs, deadline - performance.now())
    if (wait <= 0) return
    await sleep(wait)
    if (performance.now() < deadline) await upstream.advance(5 * 60_000)
  }
}

interface RunRow {
  readonly id: number
  readonly source: string
  readonly status: string
  readonly startedAt: string
  readonly errorCode: string | null
  readonly errorMessage: string | null
}

function lastRunId(url: string): Promise<number> {
  return withDatabase(url, async (db) => {
    const row = await db.kysely
      .selectFrom('etlRuns')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst()
    return Number(row?.id ?? 0)
  })
}

function runsAfter(url: string, afterId: number): Promise<RunRow[]> {
  return withDatabase(url, async (db) => {
    const rows = await db.kysely
      .selectFrom('etlRuns')
      .select(['id', 'source', 'status', 'startedAt', 'errorCode', 'errorMessage'])
      .where('id', '>', afterId)
      .orderBy('id')
      .execute()
    return rows.map((r) => ({ ...r, id: Number(r.id), startedAt: new Date(r.startedAt).toISOString() }))
  })
}

/** Waits until no run after `afterId` is running (and, if asked, every source has finished one). */
async function settleRuns(url: string, afterId: number, opts: { requireEachSource: boolean }): Promise<void> {
  const deadline = Date.now() + RUNS_SETTLE_MS
  for (;;) {
    const runs = await runsAfter(url, afterId)
    const running = runs.filter((r) => r.status === 'running')
    const finishedSources = new Set(runs.filter((r) => r.status !== 'running').map((r) => r.source))
    const enough =
      !opts.requireEachSource || (finishedSources.has('coingecko') && finishedSources.has('coinpaprika'))
    if (running.length === 0 && enough) return
    if (Date.now() > deadline)
      throw new Error(
        `ETL runs did not settle within ${RUNS_SETTLE_MS / 1000} s: ${JSON.stringify(runs.slice(-4))}`,
      )
    await sleep(500)
  }
}

/** A migrated database holding `plan`'s assets and records (bench/api-seed.ts's rows). */
async function seedDatabase(server: BenchServer, plan: SeedPlan): Promise<BenchDatabase> {
  const db = await server.create(`reliability_load_${Date.now()}`)
  try {
    if (server.dialect === 'sqlite') {
      await seedSqlite(db.url.slice('sqlite:'.length), plan)
      return db
    }
    await seedPostgresDatabase(db.url, plan)
    return db
  } catch (error) {
    await db.drop()
    throw error
  }
}
