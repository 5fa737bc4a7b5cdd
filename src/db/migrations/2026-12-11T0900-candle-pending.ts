import type { Kysely } from 'kysely'
import { columnTypes } from './column-types.js'

// Frozen in time: later changes are new migrations, never edits here.
// A write of records used to upsert one `candle_stale` row per asset it touched. On PostgreSQL each
// such upsert locks its row and writes a new version of it, about 10 µs an asset: 25 ms of a
// snapshot run of 2,000 tickers, which held the upstream cycle's ratio at its target's line. A write
// now appends `candle_pending` rows instead: one per source and range of hours `[from_s, to_s)`
// touched, with the assets as a JSON array (one row for a snapshot run, whose records share an hour).
// Only the refresher folds committed pending rows into `candle_stale`, so no writer locks a mark, and
// readers take an hour as stale when either table marks it.
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db)
  await db.schema
    .createTable('candle_pending')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('from_s', 'bigint', (c) => c.notNull())
    .addColumn('to_s', 'bigint', (c) => c.notNull())
    .addColumn('asset_ids', t.json, (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('candle_pending').execute()
}
