import type { BenchDatabase, BenchServer, DialectName } from './bench-databases.js'
import { benchAssets } from './generate-csv.js'
import type { CoinpipeRuns, DialectReport } from './ingest-report.js'
import { bestOf, runPhase, type PhaseResult } from './measure.js'

export interface IngestPlan {
  readonly csv: string
  readonly rows: number
  readonly batchSizes: readonly number[]
  /** Each phase runs this many times, each on a fresh database; the fastest counts. */
  readonly repeat: number
  readonly cpuProfDir: string | undefined
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
  const phase = async (name: string, db: BenchDatabase, args: readonly string[], expectRows: number) => {
    await server.settle()
    const cpuProfile =
      plan.cpuProfDir === undefined
        ? undefined
        : { dir: plan.cpuProfDir, name: `${server.dialect}-${name}.cpuprofile` }
    const [kind, ...rest] = args
    const result = await runPhase([kind!, db.url, plan.csv, ...rest], { cpuProfile })
    const where = `${title} ${name}`
    const status = result.detail.status
    if (status !== undefined && status !== 'succeeded')
      problems.push(`${where}: run did not succeed: ${JSON.stringify(result.detail)}`)
    if (result.rows !== expectRows)
      problems.push(`${where}: wrote ${result.rows} rows, expected ${expectRows}`)
    const count = await db.countRecords()
    if (count !== plan.rows) problems.push(`${where}: records holds ${count} rows, expected ${plan.rows}`)
    return result
  }

  try {
    const baselines: PhaseResult[] = []
    const runs = new Map(
      plan.batchSizes.map((b) => [b, { first: [] as PhaseResult[], second: [] as PhaseResult[] }]),
    )
    for (let rep = 1; rep <= plan.repeat; rep++) {
      const baselineDb = await server.create(`baseline_${rep}`, benchAssets())
      baselines.push(await phase(`baseline-${rep}`, baselineDb, ['baseline'], plan.rows))
      await baselineDb.drop()
      for (const [batchRows, { first, second }] of runs) {
        const db = await server.create(`coinpipe_${batchRows}_${rep}`)
        const args = ['coinpipe', String(batchRows)]
        first.push(await phase(`coinpipe-${batchRows}-first-${rep}`, db, args, plan.rows))
        second.push(await phase(`coinpipe-${batchRows}-second-${rep}`, db, args, 0))
        await db.drop()
      }
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
    }
  } catch (error) {
    problems.push(`${title}: ${error instanceof Error ? error.message : String(error)}`)
    return undefined
  }
}
