import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config.js'
import { postgresServer, sqliteServer, type BenchServer } from './bench-databases.js'
import { benchDialect, TITLES, type IngestPlan } from './bench-dialect.js'
import { generateCsv } from './generate-csv.js'
import { medianCliRun } from './cli-process.js'
import {
  fastestBatchRows,
  formatDialectReport,
  formatHelpTiming,
  formatInt,
  rowsPerSecond,
} from './ingest-report.js'

/**
 * CSV ingest benchmark (DESIGN.md §8): coinpipe's CSV import against a bare loader in the same run,
 * on SQLite and, when reachable, PostgreSQL. Each measured phase runs in its own process.
 *
 *   npm run bench:ingest -- [--rows N] [--batch-rows 5000,20000] [--repeat N] [--dialects sqlite,postgres]
 *                           [--cpu-prof DIR]
 *
 * Exits 1 only when an import fails or leaves the wrong number of records; a missed target is reported.
 */

const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string' },
    'batch-rows': { type: 'string' },
    repeat: { type: 'string' },
    dialects: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'large-rows': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (flags.help) {
  console.log(
    'usage: npm run bench:ingest -- [--rows N] [--batch-rows N[,N…]] [--repeat N] [--dialects sqlite,postgres]\n' +
      '                              [--large-rows N (0: skip)] [--cpu-prof DIR]\n' +
      'env: BENCH_ROWS, BENCH_BATCH_ROWS, BENCH_REPEAT, BENCH_POSTGRES_URL (admin URL, default ' +
      `${DEFAULT_POSTGRES_URL})`,
  )
  process.exit(0)
}

const rows = positiveInt(flags.rows ?? process.env.BENCH_ROWS ?? '1000000', 'rows')
const defaultBatchRows = loadConfig({ LOG_LEVEL: 'silent' }).sources.csv.batchRows
const batchSizes = (flags['batch-rows'] ?? process.env.BENCH_BATCH_ROWS ?? String(defaultBatchRows))
  .split(',')
  .map((v) => positiveInt(v.trim(), 'batch-rows'))
const repeat = positiveInt(flags.repeat ?? process.env.BENCH_REPEAT ?? '1', 'repeat')
// A second, much larger file shows whether peak RSS grows with the file.
const largeRows = Number(flags['large-rows'] ?? process.env.BENCH_LARGE_ROWS ?? 5 * rows)
const dialects = (flags.dialects ?? 'sqlite,postgres').split(',').map((d) => d.trim())
const cpuProfDir = flags['cpu-prof'] === undefined ? undefined : resolve(flags['cpu-prof'])
if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })

const workDir = mkdtempSync(join(tmpdir(), 'coinpipe-bench-'))
const servers: BenchServer[] = []
const problems: string[] = []
let cleaned = false
async function cleanUp(): Promise<void> {
  if (cleaned) return
  cleaned = true
  for (const server of servers) await server.dispose().catch((e: unknown) => console.error(e))
  rmSync(workDir, { recursive: true, force: true })
}
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)))

try {
  const cpu = cpus()
  console.log(
    `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown cpu'}, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version} (${process.platform}/${process.arch}), ` +
      loadAverage(),
  )
  const csv = join(workDir, 'prices.csv')
  const started = performance.now()
  const bytes = await generateCsv(csv, rows)
  console.log(
    `generated ${formatInt(rows)} rows (${(bytes / 2 ** 20).toFixed(1)} MB) in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s: ${csv}`,
  )
  console.log(`CSV_BATCH_ROWS tried: ${batchSizes.join(', ')} (default ${defaultBatchRows})\n`)
  let large: IngestPlan['large']
  if (largeRows > 0) {
    const largeCsv = join(workDir, 'prices-large.csv')
    const largeBytes = await generateCsv(largeCsv, largeRows)
    console.log(
      `generated ${formatInt(largeRows)} rows (${(largeBytes / 2 ** 20).toFixed(1)} MB) for peak RSS: ${largeCsv}\n`,
    )
    large = { csv: largeCsv, rows: largeRows }
  }
  console.log(`${formatHelpTiming(await medianCliRun(5, ['--help']))}\n`)

  for (const dialect of dialects) {
    const server = await openServer(dialect)
    if (!server) continue
    servers.push(server)
    const plan: IngestPlan = { csv, rows, batchSizes, repeat, cpuProfDir, large }
    const report = await benchDialect(server, plan, problems)
    if (report) console.log(`${formatDialectReport(report)}\n`)
    if (report && report.coinpipe.length > 1) {
      const best = fastestBatchRows(report.coinpipe)!
      console.log(
        `fastest CSV_BATCH_ROWS on ${TITLES[server.dialect]}: ${best.batchRows} ` +
          `(${formatInt(rowsPerSecond(rows, best.first))} rows/s)\n`,
      )
    }
  }
  console.log(`at the end: ${loadAverage()}`)
} catch (error) {
  problems.push(
    `benchmark crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  )
} finally {
  await cleanUp()
}
if (problems.length > 0) {
  console.error(`FAILED:\n  - ${problems.join('\n  - ')}`)
  process.exitCode = 1
}

async function openServer(dialect: string): Promise<BenchServer | undefined> {
  if (dialect === 'sqlite') return sqliteServer(workDir)
  if (dialect !== 'postgres') throw new Error(`unknown dialect ${dialect}: expected sqlite or postgres`)
  const adminUrl = process.env.BENCH_POSTGRES_URL ?? DEFAULT_POSTGRES_URL
  const server = await postgresServer(adminUrl)
  if (!server) console.log(`PostgreSQL skipped: cannot connect to ${redactUrl(adminUrl)}\n`)
  return server
}

/** Other work on the machine skews every number; this says how busy it was. */
function loadAverage(): string {
  return `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`
}

function positiveInt(value: string, name: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`--${name} must be a positive integer`)
  return Number(value)
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparseable URL)'
  }
}
