import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { parseDatabaseUrl } from '../src/config.js'
import { migrateToLatest, openDatabase, type Db } from '../src/db/database.js'
import type { BenchAsset } from './generate-csv.js'

export type DialectName = 'sqlite' | 'postgres'

/** One freshly migrated database, reachable by URL from a child process. */
export interface BenchDatabase {
  readonly url: string
  countRecords(): Promise<number>
  /** Frees the disk and cache it takes, once its phases are measured. */
  drop(): Promise<void>
}

/** Where a dialect's bench databases live, and how they are thrown away. */
export interface BenchServer {
  readonly dialect: DialectName
  /** A human description of where the databases are. */
  readonly where: string
  /** A fresh database migrated with `migrateToLatest`; with `assets`, those rows pre-created. */
  create(name: string, assets?: readonly BenchAsset[]): Promise<BenchDatabase>
  /** Flushes what earlier phases left dirty, so it is not billed to the next phase. */
  settle(): Promise<void>
  dispose(): Promise<void>
}

/** SQLite files in `dir` (which the caller removes). */
export function sqliteServer(dir: string): BenchServer {
  return {
    dialect: 'sqlite',
    where: dir,
    async create(name, assets) {
      const path = join(dir, `${name}.db`)
      const db = await createDatabase(`sqlite:${path}`, assets)
      const drop = () => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
        return Promise.resolve()
      }
      return { ...db, drop }
    },
    settle: () => Promise.resolve(),
    dispose: () => Promise.resolve(),
  }
}

/**
 * A throwaway `coinpipe_bench_<ts>` database on the server at `adminUrl`, one schema per bench
 * database; `undefined` when the server cannot be reached.
 */
export async function postgresServer(adminUrl: string): Promise<BenchServer | undefined> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch {
    await admin.end().catch(() => undefined)
    return undefined
  }
  const name = `coinpipe_bench_${Date.now()}`
  await admin.query(`CREATE DATABASE ${name}`)
  const base = new URL(adminUrl)
  base.pathname = `/${name}`
  const benchUrl = base.toString()
  const withClient = async (fn: (client: pg.Client) => Promise<unknown>) => {
    const client = new pg.Client({ connectionString: benchUrl })
    await client.connect()
    try {
      await fn(client)
    } finally {
      await client.end()
    }
  }
  return {
    dialect: 'postgres',
    where: `database ${name} on ${base.host}`,
    async create(schema, assets) {
      await withClient((c) => c.query(`CREATE SCHEMA ${schema}`))
      const url = new URL(benchUrl)
      url.searchParams.set('options', `-c search_path=${schema}`)
      const db = await createDatabase(url.toString(), assets)
      const drop = () => withClient((c) => c.query(`DROP SCHEMA ${schema} CASCADE`))
      return { ...db, drop }
    },
    async settle() {
      await admin.query('CHECKPOINT').catch(() => undefined)
    },
    async dispose() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await admin.end()
      }
    },
  }
}

async function createDatabase(
  url: string,
  assets: readonly BenchAsset[] = [],
): Promise<Omit<BenchDatabase, 'drop'>> {
  await withDb(url, async (db) => {
    await migrateToLatest(db)
    if (assets.length === 0) return
    const createdAt = new Date().toISOString()
    await db.kysely
      .insertInto('assets')
      .values(assets.map(({ id, symbol, name }) => ({ id, symbol, name, createdAt })))
      .execute()
  })
  return {
    url,
    countRecords: () =>
      withDb(url, async (db) => {
        const { rows } = await sql<{ n: number | string }>`select count(*) as n from records`.execute(
          db.kysely,
        )
        return Number(rows[0]?.n)
      }),
  }
}

async function withDb<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(parseDatabaseUrl(url))
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}
