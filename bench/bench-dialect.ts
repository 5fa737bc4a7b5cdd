import type { BenchDatabase, BenchServer, DialectName } from './bench-databases.js'
import { benchAssets } from './generate-csv.js'
import { medianCliRun, runCliImport, type CliRun } from './cli-process.js'
import type { CoinpipeRuns, DialectReport } from './ingest-report.js'
import { bestOf, runPhase, type PhaseResult } from './measure.js'

export interface IngestPlan {
  readonly csv: string
  readonly rows: number
  readonly batchSizes: readonly number[]
  /** Each phase runs this many times, each on a fresh database; the fastest counts. */
  readonly repeat: number
  readonly cpuProfDir: string | undefined
  /** A much larger file imported once more, to show peak RSS does not grow with the file. */
  readonly large: { readonly csv: string; readonly rows: number } | undefined
}

/** Runs of the CLI timed from spawn to exit (the no-op re-import is averaged over this many). */
const CLI_RUNS = 5

/** coinpipe's import is the `coinpipe` command itself, the compiled bundle a user runs. */
async function coinpipeImport(
  url: string,
  csv: string,
  batchRows: string | undefined,
  cpuProfile: { dir: string; name: string } | undefined,
): Promise<PhaseResult> {
  const nodeFlags = cpuProfile
    ? ['--cpu-prof', '--cpu-prof-dir', cpuProfile.dir, '--cpu-prof-name', cpuProfile.name]
    : []
  const { run, summary } = await runCliImport(url, csv, { batchRows, nodeFlags })
  const first = summary.runs[0]
  return {
    seconds: (first?.duration_ms ?? 0) / 1000,
    cpuSeconds: run.cpuSeconds,
    maxRssMb: run.maxRssMb,
    rows: first?.loaded ?? 0,
    detail: { ...first },
  }
}

export const TITLES: Record<DialectName, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' }
const BASELINE_LABELS: Record<DialectName, string> = {
  sqlite: 'baseline: csv-parse → prepared INSERT, 50k rows/tx',
  postgres: 'baseline: COPY → staging → INSERT … SELECT',
}

/**
 * Per repetition: the baseline on a fresh database with the assets pre-created, then per batch size
 * coinpipe's first and second import on another fresh database. Every phase is checked (run status,
 * rows written, `count(*)` of records); what fails is added to `problems`.
 */
export async function benchDialect(
  server: BenchServer,
  plan: IngestPlan,
  problems: string[],
): Promise<DialectReport | undefined> {
  const title = TITLES[server.dialect]
  const phase = async (
    name: string,
    db: BenchDatabase,
    args: readonly string[],
    expectRows: number,
    file = { csv: plan.csv, rows: plan.rows },
  ) => {
    await server.settle()
    const cpuProfile =
      plan.cpuProfDir === undefined
        ? undefined
        : { dir: plan.cpuProfDir, name: `${server.dialect}-${name}.cpuprofile` }
    const [kind, batchRows] = args
    const result =
      kind === 'coinpipe'
        ? await coinpipeImport(db.url, file.csv, batchRows, cpuProfile)
        : await runPhase([kind!, db.url, file.csv], { cpuProfile })
    const where = `${title} ${name}`
    const status = result.detail.status
    if (status !== undefined && status !== 'succeeded')
      problems.push(`${where}: run did not succeed: ${JSON.stringify(result.detail)}`)
    if (result.rows !== expectRows)
      problems.push(`${where}: wrote ${result.rows} rows, expected ${expectRows}`)
    const count = await db.countRecords()
    if (count !== file.rows) problems.push(`${where}: records holds ${count} rows, expected ${file.rows}`)
    return result
  }
  /** `coinpipe etl run --file` on a database that already holds the file: what a user's no-op costs. */
  const noop = async (db: BenchDatabase): Promise<CliRun> => {
    const run = await medianCliRun(CLI_RUNS, ['etl', 'run', '--file', plan.csv, '--json'], {
      DATABASE_URL: db.url,
    })
    const { runs } = JSON.parse(run.stdout) as { runs: { status: string; loaded: number }[] }
    if (runs[0]?.status !== 'succeeded' || runs[0].loaded !== 0)
      problems.push(`${title} no-op re-import: ${JSON.stringify(runs)}`)
    return run
  }

  try {
    const baselines: PhaseResult[] = []
    const runs = new Map(
      plan.batchSizes.map((b) => [b, { first: [] as PhaseResult[], second: [] as PhaseResult[] }]),
    )
    let noopRun: CliRun | undefined
    for (let rep = 1; rep <= plan.repeat; rep++) {
      const baselineDb = await server.create(`baseline_${rep}`, benchAssets())
      baselines.push(await phase(`baseline-${rep}`, baselineDb, ['baseline'], plan.rows))
      await baselineDb.drop()
      for (const [batchRows, { first, second }] of runs) {
        const db = await server.create(`coinpipe_${batchRows}_${rep}`)
        const args = ['coinpipe', String(batchRows)]
        first.push(await phase(`coinpipe-${batchRows}-first-${rep}`, db, args, plan.rows))
        second.push(await phase(`coinpipe-${batchRows}-second-${rep}`, db, args, 0))
        noopRun ??= await noop(db)
        await db.drop()
      }
    }
    let large: DialectReport['large']
    if (plan.large !== undefined) {
      const db = await server.create('coinpipe_large')
      const result = await phase('coinpipe-large', db, ['coinpipe'], plan.large.rows, plan.large)
      large = { rows: plan.large.rows, result }
      await db.drop()
    }
    const coinpipe: CoinpipeRuns[] = [...runs].map(([batchRows, { first, second }]) => ({
      batchRows,
      first: bestOf(first),
      second: bestOf(second),
    }))
    return {
      title,
      where: server.where,
      rows: plan.rows,
      repeat: plan.repeat,
      baseline: { label: BASELINE_LABELS[server.dialect], result: bestOf(baselines) },
      coinpipe,
      noop: noopRun,
      large,
    }
  } catch (error) {
    problems.push(`${title}: ${error instanceof Error ? error.message : String(error)}`)
    return undefined
  }
}
