import { parseDatabaseUrl } from '../src/config.js'
import type { PipelineContext } from '../src/pipeline/pipeline-context.js'
import { loadCoinpipe } from './coinpipe-build.js'
import { loadPostgresBaseline, loadSqliteBaseline } from './baseline-loaders.js'
import { reportPhase, type PhaseWork } from './measure.js'

/**
 * One measured phase of the ingest benchmark, in its own process (started by `measure.ts`):
 *   baseline <database-url> <csv>
 *   coinpipe <database-url> <csv> [csv-batch-rows]
 */

const [phase, databaseUrl, csv, batchRows] = process.argv.slice(2)
if (databaseUrl === undefined || csv === undefined) throw new Error('usage: <phase> <database-url> <csv>')

switch (phase) {
  case 'baseline':
    await reportPhase(() => runBaseline(databaseUrl, csv))
    break
  case 'coinpipe':
    await reportPhase(await prepareCoinpipe(databaseUrl, csv, batchRows))
    break
  case undefined:
  default:
    throw new Error(`unknown phase ${phase}: expected baseline or coinpipe`)
}

async function runBaseline(url: string, file: string): Promise<PhaseWork> {
  const database = parseDatabaseUrl(url)
  const rows =
    database.kind === 'sqlite'
      ? await loadSqliteBaseline(database.path, file)
      : await loadPostgresBaseline(database.url, file)
  return { rows }
}

/** Opens everything before the clock starts; the timed work is `runSource` alone. */
async function prepareCoinpipe(
  url: string,
  file: string,
  csvBatchRows: string | undefined,
): Promise<() => Promise<PhaseWork>> {
  const { loadConfig, openDatabase, createLogger, createSourceRegistry, runSource } = await loadCoinpipe()
  const config = loadConfig({
    DATABASE_URL: url,
    CSV_PATHS: file,
    ETL_RUN_ON_START: 'false',
    ETL_SCHEDULE: 'off',
    LOG_LEVEL: 'silent',
    ...(csvBatchRows === undefined ? {} : { CSV_BATCH_ROWS: csvBatchRows }),
  })
  const db = await openDatabase(config.database)
  const ctx: PipelineContext = {
    db,
    log: createLogger('silent', { pretty: false }),
    sources: createSourceRegistry(config, createLogger('silent', { pretty: false })),
    staleRunAfterMs: config.etl.staleRunAfterMs,
  }
  // Connects the pool (PostgreSQL) or opens the file (SQLite) before timing.
  await db.kysely.selectFrom('etlRuns').select('id').limit(1).execute()
  return async () => {
    try {
      const run = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
      const { status, batches, extracted, loaded, unchanged, rejected, durationMs, errorCode, errorMessage } =
        run
      return {
        rows: loaded,
        detail: {
          status,
          batches,
          extracted,
          loaded,
          unchanged,
          rejected,
          durationMs,
          errorCode,
          errorMessage,
        },
      }
    } finally {
      await db.close()
    }
  }
}
