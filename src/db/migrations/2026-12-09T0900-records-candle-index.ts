import { PostgresAdapter, type Kysely } from 'kysely'

// Frozen in time: later changes are new migrations, never edits here.
// Candles read one asset's price, market cap and volume over a time range. The natural key finds
// those rows, but each one then costs a random read of the table, where one asset's history is
// spread over every page its runs wrote: a year of one asset is 10,000 to 100,000 such reads.
// Carrying the three values in the index makes that read one index range scan. SQLite gets a fifth
// index with the natural key's columns, in the same order, and the values as trailing keys.
// PostgreSQL keeps its natural key as it is: carrying the values as INCLUDE columns of it made every
// batch's INSERT … ON CONFLICT maintain a wider index, and the CSV import fell below its target
// (bench:ingest 0.73–0.78× of its baseline against 0.82–0.91× without it, runs alternated), while
// its candles read the range in one pass and reach the table through the visibility map anyway
// until a vacuum has run.
export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return
  await db.schema
    .createIndex('records_candles')
    .on('records')
    .columns(['asset_id', 'observed_at', 'source', 'price_usd', 'market_cap_usd', 'volume_24h_usd'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return
  await db.schema.dropIndex('records_candles').execute()
}
