import { randomUUID } from 'node:crypto'
import { coinsOf } from '../../fake-upstream/catalogue.js'
import { faultMatches } from '../../fake-upstream/faults.js'
import {
  startFakeUpstream,
  type FakeRequest,
  type FakeUpstream,
  type FaultSpec,
} from '../../fake-upstream/server.js'
import type { BenchServer } from '../../bench/bench-databases.js'
import { loadConfig } from '../../src/config.js'
import { openDatabase, type Db } from '../../src/db/database.js'
import { findCheckpoint } from '../../src/db/repositories/checkpoint-repository.js'
import { identitySettingsFromConfig } from '../../src/identity/identity-settings.js'
import { createLogger } from '../../src/logger.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import { createSourceRegistry } from '../../src/sources/registry.js'
import { cliEnv, runCli, startCli, type StartedProcess } from '../../test/helpers/cli.js'
import { seededRandom } from '../../test/helpers/seeded-random.js'
import { connectRedis, deleteKeys, redisAnswers } from '../../test/helpers/shared-redis.js'
import { compareRecords } from '../database-state.js'
import type { Scenario, ScenarioResult } from '../scenario.js'

/**
 * Scenario 3 of the issue, upstream faults: every fault kind of the fake upstream, seeded, in
 * cycles of both live sources. Each run must end as the rules give (DESIGN.md §2, upstream-apis.md,
 * `SOURCE_HTTP_CODES`), the fake must never see more calls per window than the configured limit,
 * and the records must be exactly those of a database that never saw a fault.
 */
const PROFILES = {
  short: { cycles: 12, queueCycles: 4 },
  full: { cycles: 50, queueCycles: 16 },
} as const

const SOURCES = ['coingecko', 'coinpaprika'] as const
type LiveSource = (typeof SOURCES)[number]

const PER_PAGE = 10
const COINGECKO_COINS = coinsOf('coingecko').length
/** The page that ends the cycle (short, or empty when the coins fill the pages exactly). */
const LAST_PAGE = Math.floor(COINGECKO_COINS / PER_PAGE) + 1
const PATHS: Record<LiveSource, string> = { coingecko: '/coins/markets', coinpaprika: '/tickers' }

/** Short waits, real retries: what keeps 50 cycles to a few minutes without disabling anything. */
const HTTP = { maxRetries: 2, retryBaseMs: 20, maxRetryWaitMs: 2500, readTimeoutMs: 300 }
const LIMIT = { points: 5, windowMs: 500 }
const PIPELINE_ENV: Record<string, string> = {
  SOURCES: SOURCES.join(','),
  COINGECKO_PER_PAGE: String(PER_PAGE),
  COINGECKO_MAX_PAGES: '20',
  COINGECKO_RATE_LIMIT: `${LIMIT.points}/${LIMIT.windowMs}ms`,
  COINPAPRIKA_RATE_LIMIT: `${LIMIT.points}/${LIMIT.windowMs}ms`,
  UPSTREAM_CONNECT_TIMEOUT_MS: '1000',
  UPSTREAM_READ_TIMEOUT_MS: String(HTTP.readTimeoutMs),
  UPSTREAM_MAX_RETRIES: String(HTTP.maxRetries),
  UPSTREAM_RETRY_BASE_MS: String(HTTP.retryBaseMs),
  UPSTREAM_MAX_RETRY_WAIT_MS: String(HTTP.maxRetryWaitMs),
  // Identity's extra calls are off: every request of the log is a page of the cycle.
  IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
  IDENTITY_COINS_LIST_REFRESH_MS: '0',
  ETL_RUN_ON_START: 'false',
  ETL_SCHEDULE: 'off',
}
/** Snapshot time between cycles: more than the fake's laggards' stale period, so most coins move. */
const CYCLE_ADVANCE_MS = 5 * 60_000

/** Every kind injected; a run of the short profile still covers each at least once. */
export const FAULT_KINDS = [
  '429 Retry-After seconds',
  '429 Retry-After date',
  '429 no Retry-After',
  '429 Retry-After beyond budget',
  '500',
  '503',
  'HTML 5xx page',
  'slow past timeout',
  'slow within timeout',
  'truncated',
  'garbage 200',
  'HTML 200',
  'empty 200',
  'reset',
  '401',
  '402',
  '403',
  'drift breaking',
  'drift benign',
] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/**
 * How a fault acts on a run: `transient` faults end within the retries, `persistent` ones outlast
 * them, `final` ones are never retried, `harmless` ones change nothing, `drift` fails its batches.
 */
type Effect = 'transient' | 'persistent' | 'final' | 'harmless' | 'drift'

export interface PlannedFault {
  readonly kind: FaultKind
  readonly spec: FaultSpec
  readonly effect: Effect
  /** The run's error code when the fault ends it (the retried code once retries run out). */
  readonly code: string | null
}

export interface ExpectedOutcome {
  readonly status: 'succeeded' | 'partial' | 'failed'
  readonly errorCode: string | null
  /** Requests the faulted page gets in the run: the fault's own answers and the retry that got through. */
  readonly pageRequests: number
}

/**
 * The rules as a table (DESIGN.md §1–2, upstream-apis.md §1.6 and §2.6, `SOURCE_HTTP_CODES`):
 * - 429, 5xx, timeouts, resets and a broken 200 body are retried with backoff (`Retry-After`
 *   honoured): a fault that ends within `UPSTREAM_MAX_RETRIES` and the wait budget leaves a
 *   `succeeded` run; one that outlasts them (or a `Retry-After` beyond the budget, at once) ends the
 *   run `failed` with its code, or `partial` when earlier pages of the run committed (the checkpoint
 *   is kept and the next run carries on);
 * - 401/403 (`SOURCE_AUTH_FAILED`) and 402 (`SOURCE_PLAN_REQUIRED`) are final: one request, `failed`;
 * - a required field renamed, removed or retyped fails its batch only (`SOURCE_SCHEMA_DRIFT`,
 *   kept raw): the run goes on and ends `partial` with `BATCH_FAILED`; an added field or a removed
 *   optional one is recorded and loads (`succeeded`);
 * - a slow answer within the read timeout is just slow.
 */
export function expectedOutcome(fault: PlannedFault, hitsFirstPageOfRun: boolean): ExpectedOutcome {
  switch (fault.effect) {
    case 'transient':
      return { status: 'succeeded', errorCode: null, pageRequests: (fault.spec.times ?? 1) + 1 }
    case 'persistent':
      return {
        status: hitsFirstPageOfRun ? 'failed' : 'partial',
        errorCode: fault.code,
        pageRequests: fault.kind === '429 Retry-After beyond budget' ? 1 : 1 + HTTP.maxRetries,
      }
    case 'final':
      return { status: 'failed', errorCode: fault.code, pageRequests: 1 }
    case 'harmless':
      return { status: 'succeeded', errorCode: null, pageRequests: 1 }
    case 'drift':
      return { status: 'partial', errorCode: 'BATCH_FAILED', pageRequests: 1 }
  }
}

const RETRIED_CODE: Partial<Record<FaultKind, string>> = {
  '429 Retry-After seconds': 'SOURCE_RATE_LIMITED',
  '429 Retry-After date': 'SOURCE_RATE_LIMITED',
  '429 no Retry-After': 'SOURCE_RATE_LIMITED',
  '429 Retry-After beyond budget': 'SOURCE_RATE_LIMITED',
  '500': 'SOURCE_UNAVAILABLE',
  '503': 'SOURCE_UNAVAILABLE',
  'HTML 5xx page': 'SOURCE_UNAVAILABLE',
  reset: 'SOURCE_UNAVAILABLE',
  'slow past timeout': 'SOURCE_TIMEOUT',
  truncated: 'SOURCE_BAD_RESPONSE',
  'garbage 200': 'SOURCE_BAD_RESPONSE',
  'HTML 200': 'SOURCE_BAD_RESPONSE',
  'empty 200': 'SOURCE_BAD_RESPONSE',
}

/** Drifts that break a required field, and ones that must load as before, per source. */
const DRIFTS = {
  coingecko: {
    breaking: [
      { rename: ['current_price', 'price_usd_current'] },
      { remove: 'market_cap' },
      { retype: ['current_price', 'string'] },
      { retype: ['last_updated', 'object'] },
      { retype: ['market_cap_rank', 'string'] },
    ],
    benign: [{ add: ['liquidity_score', 7] }, { remove: 'ath' }, { rename: ['image', 'image_url'] }],
  },
  coinpaprika: {
    breaking: [
      { rename: ['quotes.USD.price', 'quotes.USD.price_usd'] },
      { remove: 'total_supply' },
      { retype: ['quotes.USD.price', 'string'] },
      { retype: ['rank', 'string'] },
      { remove: 'quotes' },
    ],
    benign: [{ add: ['quotes.USD.liquidity_score', 7] }, { remove: 'beta_value' }],
  },
} satisfies Record<
  LiveSource,
  Record<'breaking' | 'benign', Extract<FaultSpec, { kind: 'drift' }>['drift'][]>
>

/** A seeded fault of `kind` for `source`, on `page` (coingecko; undefined: whatever page comes first). */
export function planFault(
  kind: FaultKind,
  source: LiveSource,
  page: number | undefined,
  random: () => number,
): PlannedFault {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const where = { source, path: PATHS[source], ...(page === undefined ? {} : { page }) }
  const retried = (spec: FaultSpec, transientMax = HTTP.maxRetries): PlannedFault => {
    const transient = random() < 0.5
    const times = transient
      ? 1 + Math.floor(random() * transientMax)
      : pick([HTTP.maxRetries + 1, HTTP.maxRetries + 3, Infinity])
    return {
      kind,
      spec: { ...spec, times },
      effect: transient ? 'transient' : 'persistent',
      code: RETRIED_CODE[kind]!,
    }
  }
  const body = () => pick(['json', 'html'] as const)
  switch (kind) {
    case '429 Retry-After seconds':
      // 1 s each: two of them fit the budget.
      return retried(
        { ...where, kind: 'rate_limit', retryAfter: 1, body: body() },
        Math.min(HTTP.maxRetries, Math.floor(HTTP.maxRetryWaitMs / 1000)),
      )
    case '429 Retry-After date':
      // At most a second ahead, whole seconds: never more than 1 s of waiting per answer.
      return retried(
        { ...where, kind: 'rate_limit', retryAfter: new Date(Date.now() + 1000).toUTCString(), body: body() },
        Math.min(HTTP.maxRetries, Math.floor(HTTP.maxRetryWaitMs / 1000)),
      )
    case '429 no Retry-After':
      return retried({ ...where, kind: 'rate_limit', body: body() })
    case '429 Retry-After beyond budget': {
      const times = pick([1, 2, Infinity])
      return {
        kind,
        spec: { ...where, kind: 'rate_limit', retryAfter: 3600, body: body(), times },
        effect: 'persistent',
        code: 'SOURCE_RATE_LIMITED',
      }
    }
    case '500':
      return retried({ ...where, kind: 'server_error' })
    case '503':
      return retried({ ...where, kind: 'unavailable', body: pick(['json', 'html', 'empty'] as const) })
    case 'HTML 5xx page':
      return retried({ ...where, kind: 'html', status: pick([502, 503, 504]) })
    case 'slow past timeout':
      // undici checks its header and body timeouts on a timer that ticks about every 500 ms, so a
      // read timeout fires up to ~1 s late: past that, the answer surely comes after it.
      return retried({ ...where, kind: 'slow', delayMs: HTTP.readTimeoutMs + 1500 })
    case 'slow within timeout':
      return {
        kind,
        spec: { ...where, kind: 'slow', delayMs: Math.round(HTTP.readTimeoutMs / 3), times: pick([1, 3]) },
        effect: 'harmless',
        code: null,
      }
    case 'truncated':
      return retried({ ...where, kind: 'truncated' })
    case 'garbage 200':
      return retried({ ...where, kind: 'garbage' })
    case 'HTML 200':
      return retried({ ...where, kind: 'html', status: 200 })
    case 'empty 200':
      return retried({ ...where, kind: 'empty', status: 200 })
    case 'reset':
      return retried({ ...where, kind: 'reset' })
    case '401':
      return final({ ...where, kind: 'unauthorized' }, 'SOURCE_AUTH_FAILED')
    case '402':
      return final({ ...where, kind: 'payment_required' }, 'SOURCE_PLAN_REQUIRED')
    case '403':
      return final({ ...where, kind: 'forbidden' }, 'SOURCE_AUTH_FAILED')
    case 'drift breaking':
      return {
        kind,
        spec: { ...where, kind: 'drift', drift: pick(DRIFTS[source].breaking), times: pick([1, Infinity]) },
        effect: 'drift',
        code: 'BATCH_FAILED',
      }
    case 'drift benign':
      return {
        kind,
        spec: { ...where, kind: 'drift', drift: pick(DRIFTS[source].benign), times: pick([1, Infinity]) },
        effect: 'harmless',
        code: null,
      }
  }
  function final(spec: FaultSpec, code: string): PlannedFault {
    return { kind, spec: { ...spec, times: pick([1, Infinity]) }, effect: 'final', code }
  }
}

/** `slots` kinds: passes through the list, each pass shuffled, so every kind comes once `slots` ≥ its length. */
export function kindSchedule(slots: number, random: () => number): FaultKind[] {
  const out: FaultKind[] = []
  while (out.length < slots) {
    const deck = [...FAULT_KINDS]
    for (let i = deck.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[deck[i], deck[j]] = [deck[j]!, deck[i]!]
    }
    out.push(...deck)
  }
  return out.slice(0, slots)
}

const scenario: Scenario = {
  id: 'upstream-faults',
  async run({ server, profile, seed, workDir, redisUrl }) {
    const { cycles, queueCycles } = PROFILES[profile]
    const rows = [await upstreamFaults(server, { cycles, seed, mode: { kind: 'in-process' } })]
    if (redisUrl && (await redisAnswers(redisUrl)))
      rows.push(
        await upstreamFaults(server, {
          cycles: queueCycles,
          seed,
          mode: { kind: 'queue', redisUrl, workDir },
        }),
      )
    else console.log(`  upstream-faults: Redis at ${redisUrl ?? '(unset)'} not reachable, queue mode skipped`)
    return rows
  },
}
export default scenario

type Mode = { kind: 'in-process' } | { kind: 'queue'; redisUrl: string; workDir: string }

interface Options {
  readonly cycles: number
  readonly seed: number
  readonly mode: Mode
}

/** One cycle's run of one source, as the trial saw it. */
interface RunOutcome {
  readonly id: number
  readonly status: string
  readonly errorCode: string | null
  readonly loaded: number
  readonly owner?: string
}

/** Runs cycles of both sources against a database: in this process, or as jobs for workers. */
interface CycleRunner {
  runCycle(): Promise<Record<LiveSource, RunOutcome>>
  close(): Promise<void>
}

async function upstreamFaults(server: BenchServer, options: Options): Promise<ScenarioResult> {
  const queue = options.mode.kind === 'queue'
  const label = queue ? 'queue' : 'inproc'
  // The trial's fake refuses past the limit by its own count, as the real upstream would.
  const faulty = await startFakeUpstream({
    limits: { coingecko: { ...LIMIT }, coinpaprika: { ...LIMIT } },
  })
  const clean = await startFakeUpstream()
  const trialDb = await server.create(`uf_${label}_trial`)
  const lockstepDb = await server.create(`uf_${label}_lockstep`)
  const freshDb = await server.create(`uf_${label}_fresh`)
  const random = seededRandom(options.seed + (queue ? 7919 : 0))
  const failures: string[] = []
  let wrongStatus = 0
  let lost = 0
  let duplicated = 0
  const fail = (text: string) => failures.push(`${text} (seed ${options.seed}${queue ? ', queue mode' : ''})`)
  const closers: (() => Promise<void>)[] = []
  const started = performance.now()
  try {
    const trialView = await openDatabase(loadConfig({ DATABASE_URL: trialDb.url }).database)
    closers.push(() => trialView.close())
    const lockstep = await inProcessRunner(lockstepDb.url, clean)
    closers.push(() => lockstep.close())
    const trial = queue
      ? queueRunner(trialDb.url, faulty, options.mode)
      : await inProcessRunner(trialDb.url, faulty)
    closers.push(() => trial.close())

    const kinds = kindSchedule(options.cycles * SOURCES.length, random)
    const covered = new Set<FaultKind>()
    const statusCounts = new Map<string, number>()
    const owners = new Set<string>()
    let ownLimit429 = 0
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      faulty.advance(CYCLE_ADVANCE_MS)
      clean.advance(CYCLE_ADVANCE_MS)
      const startPage = await nextPage(trialView)
      const planned = {} as Record<LiveSource, PlannedFault>
      for (const [i, source] of SOURCES.entries()) {
        const kind = kinds[cycle * SOURCES.length + i]!
        // CoinGecko: whatever page comes first, or a later one of this run (never one it skips).
        const page =
          source === 'coingecko' && random() < 0.6
            ? startPage + Math.floor(random() * (LAST_PAGE - startPage + 1))
            : undefined
        planned[source] = planFault(kind, source, page, random)
        covered.add(kind)
        faulty.fault(planned[source].spec)
      }
      const from = faulty.requests.length
      // One after the other: the clean run's work in this process must not hold up the trial's requests.
      const runs = await trial.runCycle()
      faulty.clearFaults()
      await lockstep.runCycle()
      const requests = faulty.requests.slice(from)

      for (const source of SOURCES) {
        const fault = planned[source]
        const run = runs[source]
        if (run.owner) owners.add(run.owner)
        const firstPage = source === 'coingecko' ? startPage : undefined
        const hitPage = fault.spec.page ?? firstPage
        const expected = expectedOutcome(fault, hitPage === firstPage)
        const ofSource = requests.filter((r) => r.source === source)
        const pageRequests = ofSource.filter(
          (r) =>
            r.path === PATHS[source] && (hitPage === undefined || Number(r.query.page ?? '1') === hitPage),
        ).length
        statusCounts.set(run.status, (statusCounts.get(run.status) ?? 0) + 1)
        const describe = `cycle ${cycle}, ${source}${hitPage === undefined ? '' : ` page ${hitPage}`} (run started at page ${firstPage ?? 1}), fault ${fault.kind} ${JSON.stringify({ ...fault.spec, source: undefined, times: String(fault.spec.times) })}`
        if (run.status !== expected.status || run.errorCode !== expected.errorCode) {
          wrongStatus++
          fail(
            `${describe}: run ${run.id} ended ${run.status} ${run.errorCode ?? '(no code)'}, the rules give ${expected.status} ${expected.errorCode ?? '(no code)'}; ${requestTrace(ofSource)}`,
          )
        } else if (pageRequests !== expected.pageRequests) {
          wrongStatus++
          fail(
            `${describe}: the faulted page was asked ${pageRequests} times, the rules give ${expected.pageRequests}; ${requestTrace(ofSource)}`,
          )
        }
        // A 429 the fault did not answer is the fake's own limit: the client went too fast.
        let injected = 0
        for (const r of ofSource) {
          const matched =
            faultMatches(fault.spec, source, r.path, r.query) && injected < (fault.spec.times ?? 1)
          if (matched) injected++
          else if (r.status === 429) {
            ownLimit429++
            fail(
              `${describe}: the fake refused a request of page ${r.query.page ?? '-'} by its own rate limit; ${requestTrace(ofSource)}`,
            )
          }
        }
        if (run.status === 'succeeded' && (source === 'coinpaprika' || startPage === 1)) {
          // A whole cycle at this clock: the source's latest records are the clean run's exactly.
          const diff = compareRecords(
            await latestLines(lockstepDb.url, source),
            await latestLines(trialDb.url, source),
          )
          lost += diff.lost
          duplicated += diff.duplicated
          if (diff.lost + diff.duplicated > 0)
            fail(
              `${describe}: after the run, ${diff.lost} records lost and ${diff.duplicated} wrong against the clean run`,
            )
        }
      }
    }

    // The faults stop: one clean cycle at a final clock, and another if CoinGecko only finished a
    // cycle it had begun before (its first pages would be of an older clock).
    faulty.advance(CYCLE_ADVANCE_MS)
    clean.advance(CYCLE_ADVANCE_MS)
    let finalRuns: Record<LiveSource, RunOutcome> | undefined
    await lockstep.runCycle()
    for (let attempt = 0; attempt < 2; attempt++) {
      const resumed = (await nextPage(trialView)) !== 1
      finalRuns = await trial.runCycle()
      if (!resumed) break
    }
    for (const source of SOURCES) {
      if (finalRuns![source].status !== 'succeeded') {
        wrongStatus++
        fail(
          `the fault-free final cycle: ${source} run ${finalRuns![source].id} ended ${finalRuns![source].status} ${finalRuns![source].errorCode}`,
        )
      }
    }
    const fresh = await inProcessRunner(freshDb.url, clean)
    await fresh.runCycle()
    await fresh.close()
    const finalDiff = compareRecords(await allLines(freshDb.url), await latestLines(trialDb.url))
    lost += finalDiff.lost
    duplicated += finalDiff.duplicated
    if (finalDiff.lost + finalDiff.duplicated > 0)
      fail(
        `at the final clock: ${finalDiff.lost} records lost, ${finalDiff.duplicated} wrong against a database that never saw a fault`,
      )
    // Everything the trial ever stored is something a clean run stored too: nothing half-written.
    const everything = await allLines(trialDb.url)
    const beyond = compareRecords(await allLines(lockstepDb.url), everything).duplicated
    duplicated += beyond
    if (beyond > 0) {
      const clean = new Set(await allLines(lockstepDb.url))
      const key = (line: string) => line.split('|').slice(0, 3).join('|')
      const sample = everything
        .filter((l) => !clean.has(l))
        .slice(0, 3)
        .map((l) => `${l} (clean: ${[...clean].filter((c) => key(c) === key(l)).join(', ') || 'none'})`)
      fail(`${beyond} records stored by the trial are not among the clean run's, e.g. ${sample.join(', ')}`)
    }
    const consistency = await checkStored(trialView)
    lost += consistency.lost
    duplicated += consistency.duplicated
    for (const problem of consistency.problems) fail(problem)

    const worst = Object.fromEntries(SOURCES.map((s) => [s, faulty.maxInWindow(s, LIMIT.windowMs)]))
    for (const source of SOURCES)
      if (worst[source]! > LIMIT.points)
        fail(
          `${source}: ${worst[source]} requests within ${LIMIT.windowMs} ms, over the limit of ${LIMIT.points}: ${busiestWindow(
            faulty.requests.filter((r) => r.source === source),
            LIMIT.windowMs,
          )}`,
        )
    const missing = FAULT_KINDS.filter((k) => !covered.has(k))
    if (missing.length > 0 && options.cycles * SOURCES.length >= FAULT_KINDS.length)
      fail(`kinds never injected: ${missing.join(', ')}`)

    const seconds = ((performance.now() - started) / 1000).toFixed(0)
    return {
      scenario: 'upstream faults in live cycles',
      dialect: `${server.dialect}${queue ? ' + queue' : ''}`,
      trials: options.cycles * SOURCES.length,
      lost,
      duplicated,
      wrongStatus,
      fiveXx: null,
      p99Ms: null,
      detail:
        `${options.cycles} cycles × 2 sources, ${covered.size}/${FAULT_KINDS.length} fault kinds; runs ` +
        [...statusCounts].map(([s, n]) => `${n} ${s}`).join(', ') +
        `; ${faulty.requests.length} requests, at most ${worst.coingecko}/${worst.coinpaprika} (coingecko/coinpaprika) per ${LIMIT.windowMs} ms (limit ${LIMIT.points}), ${ownLimit429} refused by the fake's own limit` +
        (queue ? `; runs taken by ${owners.size} workers` : '') +
        `; ${seconds} s; seed ${options.seed}`,
      failures,
    }
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined)
    await faulty.close()
    await clean.close()
    for (const db of [trialDb, lockstepDb, freshDb]) await db.drop()
  }
}

/** The requests of a run as `page:status@ms` (ms from the first), to see what the client did. */
function requestTrace(requests: readonly FakeRequest[]): string {
  const t0 = requests[0]?.at ?? 0
  return `requests ${requests.map((r) => `${r.query.page ?? '-'}:${r.status}@${r.at - t0}`).join(' ')}`
}

/** The busiest window of `windowMs`, as its requests' trace. */
function busiestWindow(requests: readonly FakeRequest[], windowMs: number): string {
  let best: readonly FakeRequest[] = []
  for (const [i, first] of requests.entries()) {
    const inside = requests.slice(i).filter((r) => r.at - first.at < windowMs)
    if (inside.length > best.length) best = inside
  }
  return requestTrace(best)
}

/** The page CoinGecko's next run starts at. */
async function nextPage(db: Db): Promise<number> {
  const cursor = await findCheckpoint(db.kysely, 'coingecko', 'markets')
  return cursor ? ((JSON.parse(cursor) as { next_page?: number }).next_page ?? 1) : 1
}

/** Both sources in turn, in this process, as `etl run` runs them. */
async function inProcessRunner(url: string, fake: FakeUpstream): Promise<CycleRunner> {
  const config = loadConfig({
    ...PIPELINE_ENV,
    DATABASE_URL: url,
    COINGECKO_BASE_URL: fake.coingeckoUrl,
    COINPAPRIKA_BASE_URL: fake.coinpaprikaUrl,
  })
  const log = createLogger('silent', { pretty: false })
  const db = await openDatabase(config.database)
  const ctx: PipelineContext = {
    db,
    log,
    sources: createSourceRegistry(config, log),
    staleRunAfterMs: config.etl.staleRunAfterMs,
    identity: await identitySettingsFromConfig(config.identity),
  }
  return {
    async runCycle() {
      const runs = {} as Record<LiveSource, RunOutcome>
      for (const source of SOURCES) runs[source] = await runSource(ctx, source, { trigger: 'cli' })
      return runs
    },
    async close() {
      await ctx.sources.close()
      await db.close()
    },
  }
}

/** Two `coinpipe worker` processes under a prefix of their own; a cycle is one `etl run --enqueue`. */
function queueRunner(url: string, fake: FakeUpstream, mode: Extract<Mode, { kind: 'queue' }>): CycleRunner {
  const prefix = `coinpipe-reliability-upstream-faults-${randomUUID().slice(0, 8)}`
  const env = cliEnv({
    ...PIPELINE_ENV,
    DATABASE_URL: url,
    COINGECKO_BASE_URL: fake.coingeckoUrl,
    COINPAPRIKA_BASE_URL: fake.coinpaprikaUrl,
    REDIS_URL: mode.redisUrl,
    QUEUE_PREFIX: prefix,
  })
  const workers: StartedProcess[] = [0, 1].map(() =>
    startCli(['worker', '--concurrency', '1'], { cwd: mode.workDir, env }),
  )
  const close = async () => {
    for (const w of workers) w.child.kill('SIGTERM')
    const stopped = await Promise.race([
      Promise.all(workers.map((w) => w.exited)).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
    ])
    if (!stopped) {
      for (const w of workers) w.child.kill('SIGKILL')
      await Promise.all(workers.map((w) => w.exited))
    }
    const redis = await connectRedis('reliability upstream-faults cleanup', mode.redisUrl)
    try {
      await deleteKeys(redis, prefix)
    } finally {
      redis.disconnect()
    }
  }
  return {
    async runCycle() {
      const crashed = workers.find((w) => w.exitedYet())
      if (crashed) throw new Error(`worker ${crashed.pid} exited:\n${crashed.stderr()}`)
      const result = await runCli(
        ['etl', 'run', '--enqueue', '--json', '-s', 'coingecko', '-s', 'coinpaprika'],
        {
          cwd: mode.workDir,
          env,
          timeoutMs: 120_000,
        },
      )
      if (result.code !== 0 && result.code !== 1)
        throw new Error(`etl run --enqueue exited ${result.code}:\n${result.stderr}`)
      const { runs } = JSON.parse(result.stdout) as {
        runs: { id: number; source: string; status: string; error_code: string | null; loaded: number }[]
      }
      const db = await openDatabase(loadConfig({ DATABASE_URL: url }).database)
      try {
        const out = {} as Record<LiveSource, RunOutcome>
        for (const source of SOURCES) {
          const run = runs.find((r) => r.source === source)
          if (!run) throw new Error(`etl run --enqueue gave no run of ${source}:\n${result.stdout}`)
          const row = await db.kysely
            .selectFrom('etlRuns')
            .select('owner')
            .where('id', '=', run.id)
            .executeTakeFirstOrThrow()
          out[source] = {
            id: run.id,
            status: run.status,
            errorCode: run.error_code,
            loaded: run.loaded,
            owner: row.owner,
          }
        }
        return out
      } finally {
        await db.close()
      }
    },
    close,
  }
}

interface StoredRecord {
  readonly source: string
  readonly sourceAssetId: string | null
  readonly observedAt: string
  readonly line: string
}

/**
 * Every live-source record as one line of its source's own asset id, time and values. Keyed by the
 * source's id, not the canonical asset: which source first names an asset depends on which runs
 * failed, and that is identity's business, not this scenario's.
 */
async function storedRecords(url: string, source?: LiveSource): Promise<StoredRecord[]> {
  const db = await openDatabase(loadConfig({ DATABASE_URL: url }).database)
  try {
    let query = db.kysely
      .selectFrom('records')
      .selectAll()
      .where('source', 'in', [...SOURCES])
    if (source) query = query.where('source', '=', source)
    const rows = await query.execute()
    return rows.map((r) => {
      const observedAt = new Date(r.observedAt).toISOString()
      // Not `rank`: it is the coin's place among all coins when the key was first stored, and a coin
      // that has not updated (same last_updated) still moves as others do; the first stored value
      // is kept (a later rank alone is no conflict, see OBSERVED_FIELDS), so it depends on which
      // clocks a run saw, faults or not.
      const values = [
        r.priceUsd,
        r.marketCapUsd,
        r.volume24hUsd,
        r.change24hPct,
        r.circulatingSupply,
        r.totalSupply,
        r.maxSupply,
      ]
      return {
        source: r.source,
        sourceAssetId: r.sourceAssetId,
        observedAt,
        line: [
          r.source,
          r.sourceAssetId,
          observedAt,
          ...values.map((v) => (v === null ? '' : Number(v))),
        ].join('|'),
      }
    })
  } finally {
    await db.close()
  }
}

async function allLines(url: string, source?: LiveSource): Promise<string[]> {
  return (await storedRecords(url, source)).map((r) => r.line).sort()
}

/** Each (source, asset)'s latest record: the snapshot at the last clock a whole cycle saw. */
async function latestLines(url: string, source?: LiveSource): Promise<string[]> {
  const latest = new Map<string, StoredRecord>()
  for (const record of await storedRecords(url, source)) {
    const key = `${record.source}|${record.sourceAssetId}`
    const seen = latest.get(key)
    if (!seen || record.observedAt > seen.observedAt) latest.set(key, record)
  }
  return [...latest.values()].map((r) => r.line).sort()
}

/**
 * What the trial stored agrees with what its runs say: each run's `loaded` is the records that
 * carry its id, no record comes from a batch that failed, and every raw batch kept is whole JSON.
 */
async function checkStored(db: Db) {
  const problems: string[] = []
  let lost = 0
  let duplicated = 0
  const runs = await db.kysely.selectFrom('etlRuns').select(['id', 'source', 'status', 'loaded']).execute()
  const perRun = await db.kysely
    .selectFrom('records')
    .select((eb) => ['runId', eb.fn.countAll<number>().as('n')])
    .groupBy('runId')
    .execute()
  const stored = new Map(perRun.map((r) => [r.runId, Number(r.n)]))
  for (const run of runs) {
    const n = stored.get(run.id) ?? 0
    if (n === run.loaded) continue
    if (n < run.loaded) lost += run.loaded - n
    else duplicated += n - run.loaded
    problems.push(
      `run ${run.id} (${run.source}, ${run.status}) says it loaded ${run.loaded} records, ${n} carry its id`,
    )
  }
  const fromFailed = await db.kysely
    .selectFrom('records')
    .innerJoin('rawBatches', 'rawBatches.id', 'records.rawBatchId')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('rawBatches.status', '=', 'failed')
    .executeTakeFirstOrThrow()
  if (Number(fromFailed.n) > 0) {
    duplicated += Number(fromFailed.n)
    problems.push(`${fromFailed.n} records come from raw batches marked failed`)
  }
  const batches = await db.kysely.selectFrom('rawBatches').select(['id', 'payload']).execute()
  for (const batch of batches) {
    try {
      JSON.parse(batch.payload)
    } catch {
      problems.push(`raw batch ${batch.id} is not whole JSON: a broken answer was stored`)
    }
  }
  return { lost, duplicated, problems }
}
