import { PostgresAdapter, sql, type Kysely } from 'kysely'

// Frozen in time: later changes are new migrations, never edits here.
// Candles read one asset's price, market cap and volume over a time range. The natural key finds
// those rows, but each one then costs a random read of the table, where one asset's history is
// spread over every page its runs wrote: a year of one asset is 10,000 to 100,000 such reads.
// Carrying the three values in the index makes that read one index range scan. PostgreSQL carries
// them as INCLUDE columns of the natural key itself, so a load still maintains four B-trees; SQLite
// has neither INCLUDE nor a way to change a table's constraint in place, so it gets a fifth index
// with the natural key's columns, in the same order, and the values as trailing keys.
export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`ALTER TABLE records DROP CONSTRAINT records_natural_key,
      ADD CONSTRAINT records_natural_key UNIQUE (asset_id, observed_at, source)
      INCLUDE (price_usd, market_cap_usd, volume_24h_usd)`.execute(db)
    return
  }
  await db.schema
    .createIndex('records_candles')
    .on('records')
    .columns(['asset_id', 'observed_at', 'source', 'price_usd', 'market_cap_usd', 'volume_24h_usd'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`ALTER TABLE records DROP CONSTRAINT records_natural_key,
      ADD CONSTRAINT records_natural_key UNIQUE (asset_id, observed_at, source)`.execute(db)
    return
  }
  await db.schema.dropIndex('records_candles').execute()
}
