import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import SqliteDatabase from 'better-sqlite3'
import { parse } from 'csv-parse'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'

/**
 * The bare loaders coinpipe is measured against: no raw batches, no checkpoints, no validation
 * beyond `Number()`. Both expect a migrated database whose `assets` already hold every symbol.
 */

const ROWS_PER_TRANSACTION = 50_000

/** csv-parse into one prepared `INSERT … ON CONFLICT DO NOTHING`, 50k rows per transaction. */
export async function loadSqliteBaseline(path: string, csv: string): Promise<number> {
  const raw = new SqliteDatabase(path)
  // The same pragmas as src/db/dialects/sqlite.ts.
  raw.pragma('journal_mode = WAL')
  raw.pragma('synchronous = NORMAL')
  raw.pragma('foreign_keys = ON')
  try {
    const assetIds = new Map(
      raw
        .prepare<[], { id: string; symbol: string }>('SELECT id, symbol FROM assets')
        .all()
        .map((a) => [a.symbol, a.id]),
    )
    const insert = raw.prepare(
      `INSERT INTO records (asset_id, source, observed_at, price_usd, market_cap_usd, volume_24h_usd, loaded_at)
       VALUES (?, 'csv', ?, ?, ?, ?, ?)
       ON CONFLICT (asset_id, source, observed_at) DO NOTHING`,
    )
    const loadedAt = new Date().toISOString()
    let inserted = 0
    let inTransaction = 0
    raw.exec('BEGIN')
    for await (const record of createReadStream(csv).pipe(parse({ from_line: 2 }))) {
      const [date, symbol, , price, marketCap, volume] = record as string[]
      inserted += insert.run(
        assetIds.get(symbol!),
        new Date(date!).toISOString(),
        Number(price),
        Number(marketCap),
        Number(volume),
        loadedAt,
      ).changes
      if (++inTransaction === ROWS_PER_TRANSACTION) {
        raw.exec('COMMIT')
        raw.exec('BEGIN')
        inTransaction = 0
      }
    }
    raw.exec('COMMIT')
    return inserted
  } finally {
    raw.close()
  }
}

/** `COPY` the file into a temp staging table, then one `INSERT … SELECT … ON CONFLICT DO NOTHING`. */
export async function loadPostgresBaseline(url: string, csv: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('BEGIN')
    await client.query(
      `CREATE TEMP TABLE staging (
         observed_on date, symbol text, name text,
         price_usd float8, market_cap_usd float8, volume_24h_usd float8
       ) ON COMMIT DROP`,
    )
    await pipeline(
      createReadStream(csv),
      client.query(copyFrom('COPY staging FROM STDIN WITH (FORMAT csv, HEADER true)')),
    )
    const result = await client.query(
      `INSERT INTO records (asset_id, source, observed_at, price_usd, market_cap_usd, volume_24h_usd, loaded_at)
       SELECT a.id, 'csv', s.observed_on::timestamp AT TIME ZONE 'UTC', s.price_usd, s.market_cap_usd,
              s.volume_24h_usd, now()
       FROM staging s JOIN assets a ON a.symbol = s.symbol
       ON CONFLICT (asset_id, source, observed_at) DO NOTHING`,
    )
    await client.query('COMMIT')
    return result.rowCount ?? 0
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  } finally {
    await client.end()
  }
}
