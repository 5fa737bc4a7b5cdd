import pg from 'pg'
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from 'kysely'
import type { RecordBatch } from '../../domain/record.js'
import type { Db } from '../database.js'
import type { Database } from '../schema.js'
import { createQueryLog } from './query-log.js'
import { BinaryCopyWriter, CopyFromStdin, poolWithCopy } from './postgres-copy.js'
import {
  OBSERVED_COLUMNS,
  RECORD_COLUMNS,
  toMarketValues,
  VALUE_COLUMNS,
  type ExistingValuesRow,
} from './record-columns.js'

const IDENTITY_LOCK = 7_265_019

const PG_TYPES = { INT8: 20, TIMESTAMP: 1114, TIMESTAMPTZ: 1184 }

/** Times come back as the same ISO strings SQLite stores; bigint ids as numbers (< 2^53). */
const parseInt8 = (value: string) => Number(value)
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === PG_TYPES.INT8) return parseInt8
    if (oid === PG_TYPES.TIMESTAMPTZ || oid === PG_TYPES.TIMESTAMP) return parsePgTimestamp
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown
  },
}

/**
 * `2024-01-31 13:45:00.123456+00` (the session runs in UTC) → `2024-01-31T13:45:00.123Z`, by string
 * surgery on the hot path of every read; anything unusual goes through Date.
 */
export function parsePgTimestamp(value: string): string {
  if (value.length >= 22 && value.charCodeAt(10) === 32 && value.endsWith('+00')) {
    const fraction = value.length > 22 ? value.slice(20, value.length - 3) : ''
    return `${value.slice(0, 10)}T${value.slice(11, 19)}.${(fraction + '000').slice(0, 3)}Z`
  }
  const date = new Date(value.replace(' ', 'T').replace(/\+00$/, 'Z'))
  return Number.isNaN(date.getTime()) ? value : date.toISOString()
}

/**
 * Where a batch's records land first, per connection: `COPY` streams them in, then one
 * `INSERT … SELECT … ON CONFLICT` moves them. Columns that hold one value for the whole batch
 * (source, run, raw batch, load time) are not staged but bound once.
 */
const INCOMING_COLUMNS = ['ord', 'asset_id', 'observed_at', ...VALUE_COLUMNS, 'source_asset_id'] as const
const CREATE_INCOMING = `CREATE TEMP TABLE IF NOT EXISTS records_incoming (
  ord int4, asset_id text, observed_at timestamptz, price_usd float8, market_cap_usd float8,
  volume_24h_usd float8, change_24h_pct float8, rank int4, circulating_supply float8,
  total_supply float8, max_supply float8, source_asset_id text
) ON COMMIT DELETE ROWS`
const COPY_INCOMING = `COPY records_incoming (${INCOMING_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`

/** The batch in COPY's binary format, in `INCOMING_COLUMNS` order (their types in `CREATE_INCOMING`). */
function incomingRows({ assetIds, sourceAssetIds, values }: RecordBatch): Buffer {
  const out = new BinaryCopyWriter()
  for (let i = 0; i < values.length; i++) {
    const r = values[i]!
    out
      .row(INCOMING_COLUMNS.length)
      .int4(i)
      .text(assetIds[i]!)
      .timestamptz(r.observedAt)
      .float8(r.priceUsd)
      .float8(r.marketCapUsd)
      .float8(r.volume24hUsd)
      .float8(r.change24hPct)
      .int4(r.rank)
      .float8(r.circulatingSupply)
      .float8(r.totalSupply)
      .float8(r.maxSupply)
      .text(sourceAssetIds[i]!)
  }
  return out.finish()
}

/** PostgreSQL through a pg pool; sessions run in UTC. */
export function openPostgres(url: string): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    types,
    // A server that is down or unreachable fails a query in seconds, not minutes.
    connectionTimeoutMillis: 5000,
    // A connection whose peer vanished (a cut network) is found out by TCP keepalive, not never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  })
  pool.on('connect', (client) => {
    // pg-pool listens for errors only on idle clients. A connection lost while checked out (a
    // restart, a cut network) emits 'error' on its client, which would crash the process without a
    // listener; the query in flight fails with the error anyway and the broken client is dropped.
    client.on('error', () => undefined)
    client.query("SET TIME ZONE 'UTC'").catch(() => undefined)
  })
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined)
  const queryLog = createQueryLog()
  const kysely = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: poolWithCopy(pool) }),
    plugins: [new CamelCasePlugin()],
    log: queryLog.log,
  })

  return {
    kind: 'postgres',
    kysely,
    observeQueries: queryLog.observe,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    ping: (timeoutMs) => pingPool(pool, timeoutMs),
    /**
     * The rows are copied into the connection's staging table and inserted from there with
     * ON CONFLICT DO NOTHING. When some keys already existed, one more statement returns the stored
     * values that differ from the staged ones: a key this statement inserted holds exactly the
     * staged values, so those are the conflicts, whoever wrote them (a concurrent writer included).
     */
    async writeRecords(trx, batch) {
      const rows = batch.values
      if (rows.length === 0) return { inserted: 0, unchanged: 0, conflicts: [] }
      const { source, runId, rawBatchId, loadedAt } = batch.provenance
      const db = trx.withoutPlugins()
      await sql.raw(CREATE_INCOMING).execute(db)
      await sql`DELETE FROM records_incoming`.execute(db)
      await sql`${new CopyFromStdin(COPY_INCOMING, incomingRows(batch))}`.execute(db)
      const insert = await sql`
        INSERT INTO records (${sql.raw(RECORD_COLUMNS.join(', '))})
        SELECT asset_id, ${source}, observed_at, ${sql.raw(VALUE_COLUMNS.join(', '))},
               ${runId}::int8, ${rawBatchId}::int8, ${loadedAt}::timestamptz, source_asset_id
        FROM records_incoming
        ON CONFLICT (asset_id, source, observed_at) DO NOTHING`.execute(db)
      const inserted = Number(insert.numAffectedRows ?? 0)
      if (inserted === rows.length) return { inserted, unchanged: 0, conflicts: [] }

      const columns = (alias: string, of: readonly string[]) =>
        sql.raw(of.map((c) => `${alias}.${c}`).join(', '))
      const differing = await sql<ExistingValuesRow & { ord: number }>`
        SELECT i.ord, ${columns('r', VALUE_COLUMNS)}
        FROM records_incoming i
        JOIN records r ON r.asset_id = i.asset_id AND r.source = ${source} AND r.observed_at = i.observed_at
        WHERE (${columns('r', OBSERVED_COLUMNS)}) IS DISTINCT FROM (${columns('i', OBSERVED_COLUMNS)})`.execute(
        db,
      )
      const conflicts = differing.rows.map((row) => ({ index: row.ord, existing: toMarketValues(row) }))
      return { inserted, unchanged: rows.length - inserted - conflicts.length, conflicts }
    },
    async lockIdentity(trx, mode) {
      // One advisory lock key for asset identity; released when the transaction ends.
      if (mode === 'exclusive') await sql`SELECT pg_advisory_xact_lock(${IDENTITY_LOCK})`.execute(trx)
      else await sql`SELECT pg_advisory_xact_lock_shared(${IDENTITY_LOCK})`.execute(trx)
    },
    async close() {
      await kysely.destroy()
      // Kysely ends the pool only once it has used it.
      if (!pool.ended) await pool.end()
    },
  }
}

/**
 * `select 1` on a client of the pool within `timeoutMs`. A client that does not answer in time is
 * destroyed rather than returned: a hung connection must not be handed to the next query.
 */
function pingPool(pool: pg.Pool, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false
    let client: pg.PoolClient | undefined
    const release = (error?: Error) => {
      const c = client
      client = undefined
      c?.release(error)
    }
    const settle = (error?: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (error === undefined) resolve()
      else reject(error instanceof Error ? error : new Error('the database did not answer', { cause: error }))
    }
    const timer = setTimeout(() => {
      release(new Error('health probe timed out'))
      settle(new Error(`the database did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
    pool.connect().then(
      async (connected) => {
        // Connected only after the timeout: a healthy client, back to the pool.
        if (settled) return connected.release()
        client = connected
        try {
          await connected.query('select 1')
          release()
          settle()
        } catch (error) {
          release(error instanceof Error ? error : new Error('health probe failed'))
          settle(error)
        }
      },
      (error: unknown) => settle(error),
    )
  })
}
