import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import {
  CamelCasePlugin,
  CompiledQuery,
  Kysely,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase as KyselySqliteDatabase,
  type SqliteDialectConfig,
  type SqliteStatement,
} from 'kysely'
import {
  sameMarketValues,
  type MarketValues,
  type ObservedValues,
  type Provenance,
} from '../../domain/record.js'
import type { Db, RecordWriteOutcome } from '../database.js'
import type { Database } from '../schema.js'
import { createQueryLog } from './query-log.js'
import {
  RECORD_COLUMNS,
  recordParams,
  toMarketValues,
  VALUE_COLUMNS,
  type ExistingValuesRow,
} from './record-columns.js'

/**
 * SQLite through better-sqlite3 in WAL mode. Kysely's SQLite driver holds one connection, so the
 * prepared statements below run on that same connection and join whatever transaction is open.
 */
export function openSqlite(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const raw = new SqliteDatabase(path)
  raw.pragma('journal_mode = WAL')
  raw.pragma('synchronous = NORMAL')
  raw.pragma('foreign_keys = ON')
  raw.pragma('busy_timeout = 5000')
  // 16 MiB of page cache keeps the hot index pages between batch commits; 32 MiB was no faster
  // (bench:ingest) and was 20 MB more of an import's peak RSS.
  raw.pragma('cache_size = -16384')
  // Checkpoint the WAL every ~40 MiB rather than 4: a page rewritten by many batch commits is copied once.
  raw.pragma('wal_autocheckpoint = 10000')
  const queryLog = createQueryLog()
  const kysely = new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(raw) }, raw),
    plugins: [new CamelCasePlugin()],
    log: queryLog.log,
  })

  // Prepared on first use: the table exists only once migrations have run.
  let statements: ReturnType<typeof prepareRecordStatements> | undefined

  return {
    kind: 'sqlite',
    kysely,
    writeRecords(_trx, batch) {
      const startedMs = performance.now()
      let inserted = 0
      let unchanged = 0
      const conflicts: { index: number; existing: MarketValues }[] = []
      const { insert, findValues } = (statements ??= prepareRecordStatements(raw))
      const { provenance, assetIds, sourceAssetIds, values } = batch
      for (let index = 0; index < values.length; index++) {
        const assetId = assetIds[index]!
        const row = values[index]!
        if (insertRecord(insert, provenance, assetId, sourceAssetIds[index]!, row) === 1) {
          inserted++
          continue
        }
        const found = findValues.get(assetId, provenance.source, row.observedAt)
        const existing = found ? toMarketValues(found) : undefined
        if (existing && !sameMarketValues(existing, row)) conflicts.push({ index, existing })
        else unchanged++
      }
      // The batch's prepared statements bypass Kysely's log: reported as one insert.
      queryLog.report({ query: WRITE_RECORDS, durationMs: performance.now() - startedMs, failed: false })
      return Promise.resolve<RecordWriteOutcome>({ inserted, unchanged, conflicts })
    },
    // Every write transaction begins IMMEDIATE: it already holds the database's one write lock.
    lockIdentity: () => Promise.resolve(),
    observeQueries: queryLog.observe,
    ping: () =>
      Promise.resolve().then(() => {
        // The open handle keeps working on a file that was deleted or made unreadable, while every
        // write would be lost: look at the file itself too.
        if (path !== ':memory:') accessSync(path, fsConstants.R_OK | fsConstants.W_OK)
        raw.prepare('select 1').get()
      }),
    async close() {
      await kysely.destroy()
      // Kysely closes the handle only once it has used it.
      if (raw.open) raw.close()
    },
  }
}

const WRITE_RECORDS = CompiledQuery.raw('INSERT INTO records')

function prepareRecordStatements(raw: SqliteDatabase.Database) {
  return {
    insert: raw.prepare<RecordParams>(
      `INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (asset_id, source, observed_at) DO NOTHING`,
    ),
    findValues: raw.prepare<[string, string, string], ExistingValuesRow>(
      `SELECT ${VALUE_COLUMNS.join(', ')} FROM records WHERE asset_id = ? AND source = ? AND observed_at = ?`,
    ),
  }
}

type RecordParams = ReturnType<typeof recordParams>

/**
 * Binds one record in `RECORD_COLUMNS` order, field by field: positional parameters bind faster than
 * named ones (no lookup by name per parameter) and no array is built per row. The order is
 * `RECORD_FIELDS`, as in `recordParams`; test/integration/write-records.test.ts reads every column back.
 */
function insertRecord(
  insert: SqliteDatabase.Statement<RecordParams>,
  p: Provenance,
  assetId: string,
  sourceAssetId: string | null,
  r: ObservedValues,
): number {
  return insert.run(
    assetId,
    p.source,
    r.observedAt,
    r.priceUsd,
    r.marketCapUsd,
    r.volume24hUsd,
    r.change24hPct,
    r.rank,
    r.circulatingSupply,
    r.totalSupply,
    r.maxSupply,
    p.runId,
    p.rawBatchId,
    p.loadedAt,
    sourceAssetId,
  ).changes
}

/**
 * Write transactions take SQLite's write lock when they begin (BEGIN IMMEDIATE), so a second process
 * writing the same file waits for `busy_timeout` instead of failing on a lock upgrade mid-transaction.
 * Kysely's own driver always says plain BEGIN.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(
    private readonly settings: SqliteDialectConfig,
    private readonly raw: SqliteDatabase.Database,
  ) {
    super(settings)
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings, this.raw)
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  constructor(
    settings: SqliteDialectConfig,
    private readonly raw: SqliteDatabase.Database,
  ) {
    super(settings)
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }

  /**
   * SQLite rolls a transaction back by itself on some errors (a full disk, an I/O error): a ROLLBACK
   * then fails with "cannot rollback - no transaction is active", and that error, not the one that
   * ended the transaction, would be what the caller sees.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.raw.inTransaction) await super.rollbackTransaction(connection)
  }
}

/**
 * Kysely prepares every query anew; most of ours repeat the same SQL text with other parameters, so
 * prepared statements are kept (bounded) and reused. better-sqlite3 runs each one to completion
 * synchronously, so one statement is never in use twice at once.
 */
function withStatementCache(raw: SqliteDatabase.Database, size = 256): KyselySqliteDatabase {
  const statements = new Map<string, SqliteStatement>()
  return {
    prepare(sqlText) {
      let statement = statements.get(sqlText)
      if (statement === undefined) {
        statement = raw.prepare(sqlText)
        if (statements.size >= size) statements.delete(statements.keys().next().value!)
        statements.set(sqlText, statement)
      }
      return statement
    },
    close: () => raw.close(),
  }
}
