import type { Kysely } from 'kysely'
import { Migrator, sql } from 'kysely'
import type { DatabaseConfig } from '../config.js'
import type { MarketValues, NewRecord } from '../domain/record.js'
import { migrationProvider } from './migrations/index.js'
import type { Database } from './schema.js'
import { openPostgres } from './dialects/postgres.js'
import { openSqlite } from './dialects/sqlite.js'

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
   * Inserts records by natural key inside `trx` (a transaction of `kysely`). Never overwrites: an
   * existing key is reported as unchanged or as a conflict. Keys must be unique within `rows`.
   */
  writeRecords(trx: Kysely<Database>, rows: readonly NewRecord[]): Promise<RecordWriteOutcome>
  close(): Promise<void>
}

export function openDatabase(config: DatabaseConfig): Db {
  switch (config.kind) {
    case 'sqlite':
      return openSqlite(config.path)
    case 'postgres':
      return openPostgres(config.url)
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
