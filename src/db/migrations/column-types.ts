import { PostgresAdapter, type ColumnDataType, type Kysely } from 'kysely'

/**
 * The few column types that differ between SQLite and PostgreSQL, for migrations only. An `integer`
 * primary key is SQLite's rowid, so it numbers itself like PostgreSQL's `bigserial`.
 */
export function columnTypes(db: Kysely<unknown>): {
  id: ColumnDataType
  time: ColumnDataType
  json: ColumnDataType
} {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  return postgres
    ? { id: 'bigserial', time: 'timestamptz', json: 'text' }
    : { id: 'integer', time: 'text', json: 'text' }
}
