import { sql, type Kysely } from 'kysely'
import { columnTypes } from './column-types.js'

// Frozen in time: later changes are new migrations, never edits here.
// The evidence the identity resolver weighs, what it could not decide, and what it moved.
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db)

  // Each source's asset as last seen: the resolver's input.
  await db.schema
    .createTable('source_assets')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_asset_id', 'text', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('rank', 'integer')
    .addColumn('market_cap_usd', 'double precision')
    .addColumn('price_usd', 'double precision')
    .addColumn('observed_at', t.time)
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('first_seen_at', t.time, (c) => c.notNull())
    .addColumn('updated_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('source_assets_pk', ['source', 'source_asset_id'])
    .execute()
  await db.schema.createIndex('source_assets_symbol').on('source_assets').column('symbol').execute()

  // Contract addresses per platform (CoinGecko's platform ids; EVM addresses lower-case).
  await db.schema
    .createTable('asset_contracts')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_asset_id', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('fetched_at', t.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('asset_contracts_pk', ['source', 'source_asset_id', 'platform', 'address'])
    .execute()
  await db.schema
    .createIndex('asset_contracts_address')
    .on('asset_contracts')
    .columns(['platform', 'address'])
    .execute()

  // When each piece of reference data was last fetched, so quota is spent once per day or per coin.
  await db.schema
    .createTable('identity_fetches')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('fetched_at', t.time, (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .execute()

  // The ambiguities of the current resolution: rewritten whenever the resolution is applied.
  await db.schema
    .createTable('asset_conflicts')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_asset_id', 'text', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('asset_id', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('candidates', t.json, (c) => c.notNull())
    .addColumn('detected_at', t.time, (c) => c.notNull())
    .execute()

  // The audit trail: every alias that moved, with the records that moved with it.
  await db.schema
    .createTable('asset_remaps')
    .addColumn('id', t.id, (c) => c.primaryKey())
    .addColumn('remap_id', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_asset_id', 'text', (c) => c.notNull())
    .addColumn('from_asset_id', 'text')
    .addColumn('to_asset_id', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('confidence', 'double precision', (c) => c.notNull())
    .addColumn('records_moved', 'integer', (c) => c.notNull())
    .addColumn('created_at', t.time, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('asset_remaps_remap').on('asset_remaps').columns(['remap_id', 'id']).execute()
  await db.schema.createIndex('asset_remaps_from').on('asset_remaps').column('from_asset_id').execute()

  // Bumped whenever an existing alias moves, so a batch resolved before the move is re-resolved.
  await db.schema
    .createTable('identity_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('generation', 'integer', (c) => c.notNull())
    .execute()
  await sql`INSERT INTO identity_state (id, generation) VALUES (1, 0)`.execute(db)

  // A record remembers the source's own id, so a split moves exactly its records.
  await db.schema.alterTable('records').addColumn('source_asset_id', 'text').execute()
  await sql`
    UPDATE records SET source_asset_id = (
      SELECT a.source_asset_id FROM asset_aliases a WHERE a.asset_id = records.asset_id AND a.source = records.source
    )
    WHERE (SELECT count(*) FROM asset_aliases a WHERE a.asset_id = records.asset_id AND a.source = records.source) = 1
  `.execute(db)
  await db.schema
    .createIndex('records_source_asset')
    .on('records')
    .columns(['source', 'source_asset_id'])
    .execute()

  // Evidence for aliases made before this migration: what the asset row says about them.
  await sql`
    INSERT INTO source_assets (source, source_asset_id, symbol, name, active, first_seen_at, updated_at)
    SELECT a.source, a.source_asset_id, s.symbol, s.name, 1, a.created_at, a.created_at
    FROM asset_aliases a JOIN assets s ON s.id = a.asset_id
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('records_source_asset').execute()
  await db.schema.alterTable('records').dropColumn('source_asset_id').execute()
  for (const table of [
    'identity_state',
    'asset_remaps',
    'asset_conflicts',
    'identity_fetches',
    'asset_contracts',
    'source_assets',
  ]) {
    await db.schema.dropTable(table).execute()
  }
}
