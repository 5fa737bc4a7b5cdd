import type { Kysely } from 'kysely'

// Frozen in time: later changes are new migrations, never edits here.
// Who did each write: `key:<hash prefix>` for an API key, `jwt:<sub>` for a token, `cli` for the
// command line, null for the schedule. Nullable columns nobody indexes, which the bulk ETL load
// never names: a loaded record costs what it did.
const ACTOR_COLUMNS = [
  ['etl_runs', 'started_by'],
  ['raw_batches', 'added_by'],
  ['asset_remaps', 'requested_by'],
] as const

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, column] of ACTOR_COLUMNS)
    await db.schema.alterTable(table).addColumn(column, 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table, column] of ACTOR_COLUMNS) await db.schema.alterTable(table).dropColumn(column).execute()
}
