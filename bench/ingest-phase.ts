import { parseDatabaseUrl } from '../src/config.js'
import { loadPostgresBaseline, loadSqliteBaseline } from './baseline-loaders.js'
import { reportPhase, type PhaseWork } from './measure.js'

/**
 * The bare loader's phase of the ingest benchmark, in its own process (started by `measure.ts`):
 *   baseline <database-url> <csv>
 * coinpipe's phase is the `coinpipe` command itself (bench/cli-process.ts).
 */

const [phase, databaseUrl, csv] = process.argv.slice(2)
if (databaseUrl === undefined || csv === undefined) throw new Error('usage: <phase> <database-url> <csv>')

switch (phase) {
  case 'baseline':
    await reportPhase(() => runBaseline(databaseUrl, csv))
    break
  case undefined:
  default:
    throw new Error(`unknown phase ${phase}: expected baseline`)
}

async function runBaseline(url: string, file: string): Promise<PhaseWork> {
  const database = parseDatabaseUrl(url)
  const rows =
    database.kind === 'sqlite'
      ? await loadSqliteBaseline(database.path, file)
      : await loadPostgresBaseline(database.url, file)
  return { rows }
}
