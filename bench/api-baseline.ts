import SqliteDatabase from 'better-sqlite3'
import Fastify, { type FastifyInstance } from 'fastify'
import {
  CamelCasePlugin,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type Dialect,
} from 'kysely'
import pg from 'pg'
import { parseDatabaseUrl, type DatabaseConfig } from '../src/config.js'
import type { Db } from '../src/db/database.js'
import { consensusHourJson } from '../src/db/repositories/candle-repository.js'
import { listRecordPage } from '../src/db/repositories/record-repository.js'
import type { Database } from '../src/db/schema.js'

/** The SQL `GET /api/v1/records?asset=…&limit=…` runs, with a way to bind its parameters. */
export interface ListSql {
  readonly text: string
  params(assetId: string, rows: number): unknown[]
}

const PROBE_ASSET = '\u0000probe-asset'
const PROBE_ROWS = 987_654_321

/**
 * Captures the first-page SQL from coinpipe's own `listRecordPage`, compiled by the dialect's Kysely
 * compiler with the plugin `openDatabase` installs, so the bare route cannot drift from the real one.
 */
export async function captureListSql(kind: DatabaseConfig['kind']): Promise<ListSql> {
  const captured: { sql: string; parameters: readonly unknown[] }[] = []
  const kysely = new Kysely<Database>({
    dialect: compileOnlyDialect(kind),
    plugins: [new CamelCasePlugin()],
    log: (event) => {
      if (event.level === 'query') captured.push(event.query)
    },
  })
  await listRecordPage(kysely, { assetId: PROBE_ASSET, limit: PROBE_ROWS, order: 'desc' })
  await kysely.destroy()
  const query = captured[0]
  const assetAt = query?.parameters.indexOf(PROBE_ASSET) ?? -1
  const rowsAt = query?.parameters.indexOf(PROBE_ROWS) ?? -1
  if (!query || captured.length !== 1 || assetAt < 0 || rowsAt < 0 || query.parameters.length !== 2) {
    throw new Error(`unexpected listRecordPage query: ${JSON.stringify(captured)}`)
  }
  return {
    text: query.sql,
    params(assetId, rows) {
      const values: unknown[] = [...query.parameters]
      values[assetAt] = assetId
      values[rowsAt] = rows
      return values
    },
  }
}

/**
 * The main SQL of `GET /api/v1/assets/{id}/candles?interval=1h` (the consensus: every source): the
 * read of the rollup's hourly consensus, each hour's candle stored as the JSON the API prints and
 * joined by the database. coinpipe also reads the asset's stale marks (none once the seed's rollup
 * is built).
 */
export interface CandleSql {
  readonly text: string
  params(assetId: string, from: string, to: string): unknown[]
}

// Distinct hours, so each parameter's slot can be told apart by its value.
const PROBE_FROM = '1971-01-01T00:00:00.000Z'
const PROBE_TO = '1972-01-01T00:00:00.000Z'
const unixSeconds = (iso: string) => Date.parse(iso) / 1000

/** Captures the hourly candle SQL from coinpipe's own `consensusHourJson`, as `captureListSql` does. */
export async function captureCandleSql(kind: DatabaseConfig['kind']): Promise<CandleSql> {
  const captured: { sql: string; parameters: readonly unknown[] }[] = []
  const kysely = new Kysely<Database>({
    dialect: compileOnlyDialect(kind),
    plugins: [new CamelCasePlugin()],
    log: (event) => {
      if (event.level === 'query') captured.push(event.query)
    },
  })
  const db = { kind, kysely } as unknown as Db
  await consensusHourJson(db, { assetId: PROBE_ASSET, from: PROBE_FROM, to: PROBE_TO })
  await kysely.destroy()
  const rollup = captured.filter((q) => q.sql.includes('candle_consensus'))
  const query = rollup[0]
  if (!query || rollup.length !== 1)
    throw new Error(`unexpected consensusHourJson queries: ${JSON.stringify(captured)}`)
  const probes = new Map<unknown, number>([
    [PROBE_ASSET, 0],
    [unixSeconds(PROBE_FROM), 1],
    [unixSeconds(PROBE_TO), 2],
  ])
  const slots = query.parameters.map((p) => probes.get(p))
  if (slots.some((slot) => slot === undefined))
    throw new Error(`unexpected candle parameters: ${JSON.stringify(query)}`)
  return {
    text: query.sql,
    params: (assetId, from, to) => slots.map((slot) => [assetId, unixSeconds(from), unixSeconds(to)][slot!]),
  }
}

function compileOnlyDialect(kind: DatabaseConfig['kind']): Dialect {
  const postgres = kind === 'postgres'
  return {
    createAdapter: () => (postgres ? new PostgresAdapter() : new SqliteAdapter()),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => (postgres ? new PostgresIntrospector(db) : new SqliteIntrospector(db)),
    createQueryCompiler: () => (postgres ? new PostgresQueryCompiler() : new SqliteQueryCompiler()),
  }
}

/**
 * The baseline: a bare Fastify app with two routes running the same SQL as coinpipe through the raw
 * driver (a better-sqlite3 prepared statement, or a pg pool as large as coinpipe's) and answering
 * `{ data: rows }`: no schema, no hooks, no plugins, no logger. `GET /records?asset=…&limit=…` is
 * the first records page; `GET /candles?asset=…&from=…&to=…` the rollup's hourly consensus items,
 * joined into `{ data: [...] }` as coinpipe does.
 */
export async function buildBareApp(url: string): Promise<FastifyInstance> {
  const config = parseDatabaseUrl(url)
  const list = await captureListSql(config.kind)
  const candles = await captureCandleSql(config.kind)
  const run = openRawQuery(config, list.text)
  const runCandles = openRawQuery(config, candles.text)
  const app = Fastify({ logger: false })
  app.get('/records', async (request) => {
    const query = request.query as { asset?: string; limit?: string }
    const limit = Number(query.limit ?? 100)
    const rows = await run.query(list.params(query.asset ?? '', limit + 1))
    return { data: rows.slice(0, limit) }
  })
  app.get('/candles', async (request, reply) => {
    const query = request.query as { asset?: string; from?: string; to?: string }
    const rows = (await runCandles.query(
      candles.params(query.asset ?? '', query.from ?? '', query.to ?? ''),
    )) as { items: string | null }[]
    return reply.type('application/json').send(`{"data":[${rows[0]?.items ?? ''}]}`)
  })
  app.addHook('onClose', async () => {
    await run.close()
    await runCandles.close()
  })
  return app
}

function openRawQuery(
  config: DatabaseConfig,
  text: string,
): { query(params: unknown[]): Promise<unknown[]>; close(): Promise<void> } {
  switch (config.kind) {
    case 'sqlite': {
      const db = new SqliteDatabase(config.path)
      db.pragma('journal_mode = WAL')
      const statement = db.prepare(text)
      return {
        query: (params) => Promise.resolve(statement.all(params)),
        close: () => {
          db.close()
          return Promise.resolve()
        },
      }
    }
    case 'postgres': {
      const pool = new pg.Pool({ connectionString: config.url, max: 10 })
      return {
        query: async (params) => (await pool.query(text, params)).rows as unknown[],
        close: () => pool.end(),
      }
    }
  }
}
