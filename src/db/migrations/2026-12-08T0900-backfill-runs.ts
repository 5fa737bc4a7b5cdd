import { sql, type Kysely } from 'kysely'

// Frozen in time: later changes are new migrations, never edits here.
// A backfill reads a source's history beside its scheduled runs, sharing its outbound limit: one
// live run per source stays the rule for the snapshot runs, and one live backfill per source
// becomes a rule of its own, both kept by the database.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('etl_runs_one_running').execute()
  await db.schema
    .createIndex('etl_runs_one_running')
    .on('etl_runs')
    .column('source')
    .unique()
    .where(sql<boolean>`status = 'running' AND trigger <> 'backfill'`)
    .execute()
  await db.schema
    .createIndex('etl_runs_one_backfill')
    .on('etl_runs')
    .column('source')
    .unique()
    .where(sql<boolean>`status = 'running' AND trigger = 'backfill'`)
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('etl_runs_one_backfill').execute()
  await db.schema.dropIndex('etl_runs_one_running').execute()
  await db.schema
    .createIndex('etl_runs_one_running')
    .on('etl_runs')
    .column('source')
    .unique()
    .where(sql.ref('status'), '=', 'running')
    .execute()
}
