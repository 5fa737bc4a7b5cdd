import { sql, type Kysely } from 'kysely'

// Frozen in time: later changes are new migrations, never edits here.
// Candles of 1h, 1d and 1w are read from an hourly rollup per asset and source instead of every
// record: a year of one asset observed every few minutes by two sources is 100,000+ records but
// 17,520 hours. `candle_hours` holds each hour's OHLC (the open and close the hour's first and last
// observation with a price, the market cap and volume the last one's) and how many observations made
// it. `candle_stale` marks, per asset and source, the range of hours `[from_s, to_s)` whose rollup
// may lag the records: every write of records widens it in the same transaction, and the refresher
// recomputes those hours from the records (and the consensus of those hours across sources) and
// removes the mark in one transaction. Readers take the marked hours from the records themselves, so
// a candle is never older than the records.
// Existing records start marked: the first refresh builds the rollup.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('candle_hours')
    .addColumn('asset_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    // The hour's start in Unix seconds.
    .addColumn('hour_s', 'bigint', (c) => c.notNull())
    .addColumn('open', 'double precision', (c) => c.notNull())
    .addColumn('high', 'double precision', (c) => c.notNull())
    .addColumn('low', 'double precision', (c) => c.notNull())
    .addColumn('close', 'double precision', (c) => c.notNull())
    .addColumn('market_cap', 'double precision')
    .addColumn('volume', 'double precision')
    .addColumn('points', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('candle_hours_key', ['asset_id', 'source', 'hour_s'])
    .execute()
  // The consensus of each hour across the asset's sources (the median of each value, as the API
  // computes it), refreshed with the sources' hours, kept as the API prints it (a JSON object): a
  // year of hourly consensus is then 8,760 short strings to join, not 8,760 rows of numbers to read,
  // convert and print again. A change of the API's candle changes the refresh, and a migration then
  // marks every hour stale.
  await db.schema
    .createTable('candle_consensus')
    .addColumn('asset_id', 'text', (c) => c.notNull())
    .addColumn('hour_s', 'bigint', (c) => c.notNull())
    .addColumn('item', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('candle_consensus_key', ['asset_id', 'hour_s'])
    .execute()
  await db.schema
    .createTable('candle_stale')
    .addColumn('asset_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('from_s', 'bigint', (c) => c.notNull())
    .addColumn('to_s', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('candle_stale_key', ['asset_id', 'source'])
    .execute()
  // Every stored asset and source, over all time: cheaper than finding each one's first and last hour.
  await sql`
    INSERT INTO candle_stale (asset_id, source, from_s, to_s)
    SELECT DISTINCT asset_id, source, 0, ${sql.lit(ALL_TIME_TO_S)} FROM records`.execute(db)
}

/** The end of time for a mark (9999-12-31T23:00Z), an hour boundary ISO 8601 still prints in 4 digits. */
const ALL_TIME_TO_S = 253_402_297_200

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('candle_stale').execute()
  await db.schema.dropTable('candle_consensus').execute()
  await db.schema.dropTable('candle_hours').execute()
}
