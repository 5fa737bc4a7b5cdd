import type { Kysely } from 'kysely'

// Frozen in time: later changes are new migrations, never edits here.
// Every record sits on its alias's asset, so a remap finds an alias's records through the natural
// key's leading `asset_id` (one asset's records, then a filter). The index this drops cost every
// loaded record a random insert into a fifth B-tree, for an operation that runs a few times a year.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('records_source_asset').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('records_source_asset')
    .on('records')
    .columns(['source', 'source_asset_id'])
    .execute()
}
