import pg from 'pg'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A database created for this test run, or '' when PostgreSQL is not available. */
    postgresUrl: string
  }
}

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

/**
 * Creates one PostgreSQL database for the whole test run and drops it afterwards; each test then
 * works in a schema of its own inside it. In CI a PostgreSQL server is required.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const adminUrl = process.env.COINPIPE_TEST_POSTGRES_URL ?? DEFAULT_ADMIN_URL
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch (error) {
    if (process.env.CI)
      throw new Error(`PostgreSQL is required in CI but ${redact(adminUrl)} is unreachable`, { cause: error })
    console.warn(
      `\n[coinpipe tests] PostgreSQL at ${redact(adminUrl)} is unreachable: database tests run on SQLite only.\n`,
    )
    project.provide('postgresUrl', '')
    return undefined
  }
  const name = `coinpipe_test_${Date.now()}_${process.pid}`
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  project.provide('postgresUrl', url.toString())
  console.log(`[coinpipe tests] PostgreSQL database ${name} created for this run`)

  return async () => {
    const teardown = new pg.Client({ connectionString: adminUrl })
    await teardown.connect()
    await teardown.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await teardown.end()
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}
