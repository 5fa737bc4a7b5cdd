import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { postgresServer, sqliteServer, type BenchServer } from './bench-databases.js'
import { loadCoinpipe } from './coinpipe-build.js'
import { bareCycle, type BareCycle } from './cycle-baseline.js'

/**
 * One full upstream cycle (DESIGN.md §8): ≈2,000 CoinPaprika tickers and 500 CoinGecko markets
 * from the fake upstream (in its own process), fetched, kept raw, checked against their schemas,
 * transformed, resolved and loaded, against a bare fetch-parse-insert of an equally new snapshot in
 * the same run. Targets: under 2 s of coinpipe's own time on SQLite, and the steady cycle at ≥ 0.5×
 * the bare one's speed (issue 10).
 *
 *   npm run bench:cycle -- [--repeat N] [--dialects sqlite,postgres]
 */
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const MARKETS = 500
const TICKERS = 2000
const PER_PAGE = 250
const TARGET_SECONDS = 2
/** Issue 10: the steady cycle at least half as fast as a bare fetch + parse + insert. */
const TARGET_RATIO = 0.5

const { values: flags } = parseArgs({ options: { repeat: { type: 'string' }, dialects: { type: 'string' } } })
const repeat = Number(flags.repeat ?? process.env.BENCH_REPEAT ?? '3')
const dialects = (flags.dialects ?? 'sqlite,postgres').split(',').map((d) => d.trim())

interface Cycles {
  /** Every asset new: the resolver creates 2,500 assets and aliases. */
  readonly cold: Cycle
  /** The steady state: assets known, the upstream moved on, most records new. */
  readonly steady: Cycle
  /** Nothing changed upstream: 0 new records. */
  readonly unchanged: Cycle
}

interface Cycle {
  readonly seconds: number
  readonly cpuSeconds: number
  readonly loaded: number
  readonly unchanged: number
}

const fake = spawn(
  process.execPath,
  ['--import', 'tsx', 'bench/fake-upstream-process.ts', String(MARKETS), String(TICKERS)],
  { stdio: ['pipe', 'pipe', 'inherit'] },
)
const fakeLines = createInterface({ input: fake.stdout })[Symbol.asyncIterator]()
const nextLine = async () => {
  const line = await fakeLines.next()
  if (line.done) throw new Error('the fake upstream exited')
  return line.value
}
const urls = JSON.parse(await nextLine()) as { coingeckoUrl: string; coinpaprikaUrl: string }
/** Moves the fake's clock: most coins get a new last_updated, so the next cycle brings new records. */
async function advanceUpstream(ms: number) {
  fake.stdin.write(`advance ${ms}\n`)
  await nextLine()
}
const workDir = mkdtempSync(join(tmpdir(), 'coinpipe-cycle-'))
const coinpipe = await loadCoinpipe()
let failed = false

try {
  console.log(
    `One cycle: ${MARKETS} CoinGecko markets (${MARKETS / PER_PAGE} pages) + ${TICKERS} CoinPaprika tickers`,
  )
  console.log(`coinpipe from dist/, ${repeat} run(s) per dialect, median shown\n`)
  for (const dialect of dialects) {
    const server: BenchServer | undefined =
      dialect === 'sqlite'
        ? sqliteServer(workDir)
        : await postgresServer(process.env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL)
    if (!server) {
      console.log(`${dialect}: not reachable, skipped\n`)
      continue
    }
    const cycles: Cycles[] = []
    const bare: BareCycle[] = []
    try {
      for (let i = 0; i < repeat; i++) {
        const db = await server.create(`cycle_${i}`)
        const run = await runCycles(db.url)
        cycles.push(run)
        if (run.cold.loaded !== MARKETS + TICKERS || run.steady.loaded === 0 || run.unchanged.loaded !== 0) {
          console.error(
            `${dialect}: expected ${MARKETS + TICKERS}, then some, then 0 new records; got ${run.cold.loaded}, ${run.steady.loaded}, ${run.unchanged.loaded}`,
          )
          failed = true
        }
        await db.drop()
        // The bare cycle reads a snapshot just as new as coinpipe's steady one: the fake builds each
        // snapshot's answers on first request, which a stale snapshot would spare the baseline.
        await advanceUpstream(5 * 60_000)
        const bareDb = await server.create(`cycle_bare_${i}`)
        const target = dialect === 'sqlite' ? bareDb.url.slice('sqlite:'.length) : bareDb.url
        bare.push(
          await bareCycle(dialect as 'sqlite' | 'postgres', target, urls, MARKETS / PER_PAGE, PER_PAGE),
        )
        await bareDb.drop()
      }
    } finally {
      await server.dispose()
    }
    report(dialect, cycles, bare)
    if (dialect === 'sqlite' && median(cycles.map((c) => c.steady.seconds)) >= TARGET_SECONDS) failed = true
  }
} finally {
  fake.kill('SIGTERM')
  rmSync(workDir, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)

async function runCycles(databaseUrl: string): Promise<Cycles> {
  const config = coinpipe.loadConfig({
    DATABASE_URL: databaseUrl,
    SOURCES: 'coingecko,coinpaprika',
    COINGECKO_BASE_URL: urls.coingeckoUrl,
    COINPAPRIKA_BASE_URL: urls.coinpaprikaUrl,
    COINGECKO_PER_PAGE: String(PER_PAGE),
    COINGECKO_MAX_PAGES: String(MARKETS / PER_PAGE),
    // The limiter paces real upstreams; here it would only measure the configured wait.
    COINGECKO_RATE_LIMIT: '1000/1s',
    COINPAPRIKA_RATE_LIMIT: '1000/1s',
    LOG_LEVEL: 'silent',
  })
  const log = coinpipe.createLogger('silent', { pretty: false })
  const db = await coinpipe.openDatabase(config.database)
  const ctx = { db, log, sources: coinpipe.createSourceRegistry(config, log), staleRunAfterMs: 600_000 }
  const cycle = async (): Promise<Cycle> => {
    const cpu = process.cpuUsage()
    const started = performance.now()
    const runs = [
      await coinpipe.runSource(ctx, 'coingecko', { trigger: 'cli' }),
      await coinpipe.runSource(ctx, 'coinpaprika', { trigger: 'cli' }),
    ]
    const seconds = (performance.now() - started) / 1000
    const used = process.cpuUsage(cpu)
    for (const run of runs)
      if (run.status !== 'succeeded') throw new Error(`${run.source} run ${run.status}: ${run.errorMessage}`)
    return {
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      loaded: runs.reduce((n, r) => n + r.loaded, 0),
      unchanged: runs.reduce((n, r) => n + r.unchanged, 0),
    }
  }
  try {
    await db.kysely.selectFrom('etlRuns').select('id').limit(1).execute()
    const cold = await cycle()
    await advanceUpstream(5 * 60_000)
    const steady = await cycle()
    const unchanged = await cycle()
    return { cold, steady, unchanged }
  } finally {
    await ctx.sources.close()
    await db.close()
  }
}

function report(dialect: string, cycles: Cycles[], bare: BareCycle[]) {
  const s = (n: number) => `${n.toFixed(3)} s`
  const wall = (pick: (c: Cycles) => Cycle) => median(cycles.map((c) => pick(c).seconds))
  const cpu = (pick: (c: Cycles) => Cycle) => median(cycles.map((c) => pick(c).cpuSeconds))
  const steady = wall((c) => c.steady)
  const b = median(bare.map((x) => x.seconds))
  const loaded = median(cycles.map((c) => c.steady.loaded))
  console.log(dialect)
  console.log(
    `  first cycle, every asset new:      ${s(wall((c) => c.cold))} wall, ${s(cpu((c) => c.cold))} CPU`,
  )
  console.log(`  steady cycle, ${loaded} new records: ${s(steady)} wall, ${s(cpu((c) => c.steady))} CPU`)
  console.log(`  unchanged cycle, 0 new records:    ${s(wall((c) => c.unchanged))} wall`)
  console.log(
    `  bare fetch + parse + insert:       ${s(b)} wall, ${s(median(bare.map((x) => x.cpuSeconds)))} CPU`,
  )
  const ratio = b / steady
  console.log(
    `  ratio bare ÷ coinpipe, steady:     ${ratio.toFixed(2)}×   target ≥ ${TARGET_RATIO}×   ${ratio >= TARGET_RATIO ? 'PASS' : 'MISS'}`,
  )
  if (dialect === 'sqlite')
    console.log(
      `  target < ${TARGET_SECONDS} s on SQLite (steady):     ${steady < TARGET_SECONDS ? 'met' : 'MISSED'}`,
    )
  console.log('')
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}
