import { sql, type Kysely } from 'kysely'
import { columnTypes } from './column-types.js'

// Frozen in time: later changes are new migrations, never edits here.
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db)

  await db.schema
    .createTable('assets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('assets_symbol').on('assets').column('symbol').execute()

  await db.schema
    .createTable('asset_aliases')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_asset_id', 'text', (c) => c.notNull())
    .addColumn('asset_id', 'text', (c) => c.notNull().references('assets.id'))
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('confidence', 'double precision', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('asset_aliases_pk', ['source', 'source_asset_id'])
    .execute()
  await db.schema.createIndex('asset_aliases_asset').on('asset_aliases').column('asset_id').execute()

  await db.schema
    .createTable('etl_runs')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('started_at', t.time, (c) => c.notNull())
    .addColumn('heartbeat_at', t.time, (c) => c.notNull())
    .addColumn('finished_at', t.time)
    .addColumn('duration_ms', 'integer')
    .addColumn('batches', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('extracted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('loaded', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unchanged', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rejected', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('checkpoint_before', t.json)
    .addColumn('checkpoint_after', t.json)
    .execute()
  await db.schema.createIndex('etl_runs_source_started').on('etl_runs').columns(['source', 'id']).execute()
  // At most one live run per source, enforced by the database rather than by hope.
  await db.schema
    .createIndex('etl_runs_one_running')
    .on('etl_runs')
    .column('source')
    .unique()
    .where(sql.ref('status'), '=', 'running')
    .execute()

  await db.schema
    .createTable('raw_batches')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('run_id', 'bigint', (c) => c.references('etl_runs.id'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('payload_sha256', 'text', (c) => c.notNull())
    .addColumn('meta', t.json, (c) => c.notNull())
    .addColumn('cursor_before', t.json)
    .addColumn('cursor_after', t.json)
    .addColumn('row_count', 'integer', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('created_at', t.time, (c) => c.notNull())
    .addColumn('loaded_at', t.time)
    .execute()
  if (t.id === 'bigserial') {
    // Payloads are large and written once per batch: lz4 compresses them several times faster than
    // PostgreSQL's default pglz (PostgreSQL 14+ built with lz4; otherwise the default stays).
    await sql`DO $$ BEGIN
      ALTER TABLE raw_batches ALTER COLUMN payload SET COMPRESSION lz4;
    EXCEPTION WHEN OTHERS THEN NULL; END $$`.execute(db)
  }
  await db.schema.createIndex('raw_batches_run').on('raw_batches').column('run_id').execute()
  await db.schema.createIndex('raw_batches_status').on('raw_batches').columns(['status', 'id']).execute()

  await db.schema
    .createTable('records')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('asset_id', 'text', (c) => c.notNull().references('assets.id'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('observed_at', t.time, (c) => c.notNull())
    .addColumn('price_usd', 'double precision')
    .addColumn('market_cap_usd', 'double precision')
    .addColumn('volume_24h_usd', 'double precision')
    .addColumn('change_24h_pct', 'double precision')
    .addColumn('rank', 'integer')
    .addColumn('circulating_supply', 'double precision')
    .addColumn('total_supply', 'double precision')
    .addColumn('max_supply', 'double precision')
    .addColumn('run_id', 'bigint')
    .addColumn('raw_batch_id', 'bigint')
    .addColumn('loaded_at', t.time, (c) => c.notNull())
    // The natural key, ordered so the same index serves "one asset, by time" reads.
    .addUniqueConstraint('records_natural_key', ['asset_id', 'observed_at', 'source'])
    .execute()
  // Keyset pagination walks (observed_at, id) within each filter.
  await db.schema
    .createIndex('records_source_time')
    .on('records')
    .columns(['source', 'observed_at', 'id'])
    .execute()
  await db.schema.createIndex('records_time').on('records').columns(['observed_at', 'id']).execute()

  await db.schema
    .createTable('checkpoints')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('cursor', t.json, (c) => c.notNull())
    .addColumn('run_id', 'bigint')
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('checkpoints_pk', ['source', 'stream'])
    .execute()

  await db.schema
    .createTable('rejections')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('run_id', 'bigint')
    .addColumn('raw_batch_id', 'bigint')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('line', 'integer')
    .addColumn('reason_code', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('raw', 'text')
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('rejections_run').on('rejections').columns(['run_id', 'id']).execute()
  await db.schema.createIndex('rejections_source').on('rejections').columns(['source', 'id']).execute()
  await db.schema.createIndex('rejections_batch').on('rejections').column('raw_batch_id').execute()

  await db.schema
    .createTable('schema_changes')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('change', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('run_id', 'bigint')
    .addColumn('raw_batch_id', 'bigint')
    .addColumn('detected_at', t.time, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('schema_changes_source')
    .on('schema_changes')
    .columns(['source', 'id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'schema_changes',
    'rejections',
    'checkpoints',
    'records',
    'raw_batches',
    'etl_runs',
    'asset_aliases',
    'assets',
  ]) {
    await db.schema.dropTable(table).execute()
  }
}
