import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { inject } from 'vitest'
import { parseDatabaseUrl } from '../../src/config.js'
import { migrateToLatest, openDatabase, type Db } from '../../src/db/database.js'
import type { Database } from '../../src/db/schema.js'

export type DialectName = 'sqlite' | 'postgres'

/** SQLite always; PostgreSQL whenever the run has a database (CI always does). */
export const DIALECTS: DialectName[] = inject('postgresUrl') ? ['sqlite', 'postgres'] : ['sqlite']

export interface TestDatabase {
  readonly db: Db
  /** A DATABASE_URL that reaches this very database, for child processes. */
  readonly url: string
  readonly dialect: DialectName
  /** Runs raw SQL on this database outside the app (to plant faults, count rows). */
  exec(sqlText: string): Promise<void>
  /** How many rows a table holds now. */
  count(table: keyof Database): Promise<number>
  destroy(): Promise<void>
}

/** A fresh, migrated, empty database: a temp SQLite file, or a new schema in the run's PostgreSQL database. */
export async function createTestDatabase(
  dialect: DialectName,
  opts: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  let url: string
  let drop: () => Promise<void>
  let exec: (sqlText: string) => Promise<void>
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'coinpipe-test-'))
    url = `sqlite:${join(dir, 'test.db')}`
    drop = () => Promise.resolve(rmSync(dir, { recursive: true, force: true }))
    exec = async (sqlText) => {
      const { default: Sqlite } = await import('better-sqlite3')
      const raw = new Sqlite(join(dir, 'test.db'))
      raw.exec(sqlText)
      raw.close()
    }
  } else {
    const base = inject('postgresUrl')
    const schema = `t_${randomBytes(6).toString('hex')}`
    await withClient(base, (c) => c.query(`CREATE SCHEMA ${schema}`))
    const withSchema = new URL(base)
    withSchema.searchParams.set('options', `-c search_path=${schema}`)
    url = withSchema.toString()
    drop = () => withClient(base, (c) => c.query(`DROP SCHEMA ${schema} CASCADE`)).then(() => undefined)
    exec = (sqlText) => withClient(url, (c) => c.query(sqlText)).then(() => undefined)
  }
  const db = await openDatabase(parseDatabaseUrl(url))
  if (opts.migrate !== false) await migrateToLatest(db)
  return {
    db,
    url,
    dialect,
    exec,
    async count(table) {
      const row = await db.kysely
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },
    async destroy() {
      await db.close()
      await drop()
    },
  }
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}
