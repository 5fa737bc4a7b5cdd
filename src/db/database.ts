import type { CompiledQuery, Kysely } from 'kysely'
import { Migrator, sql } from 'kysely'
import type { DatabaseConfig } from '../config.js'
import type { MarketValues, RecordBatch } from '../domain/record.js'
import { migrationProvider } from './migrations/index.js'
import type { Database } from './schema.js'
import { markCandleHoursStale, staleHoursOf } from './repositories/candle-marks-repository.js'
import { traceQueries } from '../telemetry/query-spans.js'
import { tracingEnabled } from '../telemetry/tracing.js'

export interface RecordWriteOutcome {
  /** New keys written. */
  readonly inserted: number
  /** Keys that already held exactly these values. */
  readonly unchanged: number
  /** Keys that already held other values: left as they were, reported by input index. */
  readonly conflicts: readonly { readonly index: number; readonly existing: MarketValues }[]
}

/**
 * The database seam: Kysely for everything portable, plus the few operations where a dialect owns a
 * much faster path. Each dialect lives in `dialects/` and implements this whole interface.
 */
export interface Db {
  readonly kind: DatabaseConfig['kind']
  readonly kysely: Kysely<Database>
  /**
   * Inserts a batch's records by natural key inside `trx` (a transaction of `kysely`). Never
   * overwrites: an existing key is reported as unchanged or as a conflict, by row index. Keys must be
   * unique within the batch.
   */
  writeRecords(trx: Kysely<Database>, batch: RecordBatch): Promise<RecordWriteOutcome>
  /**
   * Inside `trx`: waits until no other transaction changes asset identity (`exclusive`: the resolver
   * applying a new mapping) or loads records under it (`shared`). SQLite's write lock already does this.
   */
  lockIdentity(trx: Kysely<Database>, mode: 'exclusive' | 'shared'): Promise<void>
  /** Calls `listener` after every statement run through `kysely` (SQLite's prepared record writes bypass it); returns how to stop. */
  observeQueries(listener: (event: QueryEvent) => void): () => void
  /** Connections of the pool, where the dialect has one (PostgreSQL). */
  poolStats?(): PoolStats
  /**
   * Resolves once the database has answered a trivial query, within `timeoutMs`; throws otherwise.
   * For health checks: a server that is down, a cut network and a hung connection all fail fast.
   */
  ping(timeoutMs: number): Promise<void>
  close(): Promise<void>
}

/** One statement Kysely ran, as its `log` option reports it. */
export interface QueryEvent {
  readonly query: CompiledQuery
  readonly durationMs: number
  readonly failed: boolean
}

export interface PoolStats {
  readonly total: number
  readonly idle: number
  /** Queries queued for a connection. */
  readonly waiting: number
}

/** Opens the configured database; only its dialect's driver is loaded (pg is never loaded for SQLite). */
export async function openDatabase(config: DatabaseConfig): Promise<Db> {
  const db = markingCandleHours(await openDialect(config))
  // A span per statement only with tracing on: otherwise the query log has no listener to call.
  if (tracingEnabled()) traceQueries(db)
  return db
}

/**
 * Every write of records, whichever path it takes, also marks the hours it wrote as stale for the
 * candles' hourly rollup, in the same transaction: a reader then never takes a lagging hour from the
 * rollup (`candle-marks-repository.ts`).
 */
function markingCandleHours(db: Db): Db {
  const write = db.writeRecords.bind(db)
  db.writeRecords = async (trx, batch) => {
    const outcome = await write(trx, batch)
    if (outcome.inserted > 0) await markCandleHoursStale(trx, staleHoursOf(batch))
    return outcome
  }
  return db
}

async function openDialect(config: DatabaseConfig): Promise<Db> {
  switch (config.kind) {
    case 'sqlite':
      return (await import('./dialects/sqlite.js')).openSqlite(config.path)
    case 'postgres':
      return (await import('./dialects/postgres.js')).openPostgres(config.url)
  }
}

/** Applies every pending migration; throws with the failing migration's error. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const kysely = db.kysely.withoutPlugins()
  // Kysely looks for its bookkeeping tables by schema; name ours so a shared server's other schemas never confuse it.
  const schema =
    db.kind === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(kysely)).rows[0]?.schema
      : undefined
  const migrator = new Migrator({ db: kysely, provider: migrationProvider, migrationTableSchema: schema })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error })
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
