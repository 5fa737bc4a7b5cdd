import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { parseDatabaseUrl } from '../../src/config.js'
import { openDatabase, type Db } from '../../src/db/database.js'
import { runSource, type RunProgress } from '../../src/pipeline/run-pipeline.js'
import { csvText, pipelineContext, writeCsv } from '../helpers/pipeline-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

// Found by the reliability suite (reliability/scenarios/3-database-faults.ts): a database fault
// mid-import must end the run `failed` with DATABASE_ERROR and the driver's own message, and the
// next run must load the rest.

let test: TestDatabase | undefined
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await test?.destroy()
  test = undefined
})

describe('an SQLite file that fills up mid-import', () => {
  it('ends the run failed with DATABASE_ERROR and the full disk as its message, and the next run loads the rest', async () => {
    test = await createTestDatabase('sqlite')
    const ctx = pipelineContext(test, { CSV_BATCH_ROWS: '100' })
    const file = writeCsv(csvText(2000))
    // SQLite's own size cap stands in for a full disk: the same SQLITE_FULL, and SQLite rolls the
    // transaction back by itself, so a ROLLBACK after it fails ("no transaction is active").
    const pages = await sql<{ pageCount: number }>`pragma page_count`.execute(test.db.kysely)
    await sql.raw(`pragma max_page_count = ${pages.rows[0]!.pageCount + 40}`).execute(test.db.kysely)

    const run = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(run).toMatchObject({ status: 'failed', errorCode: 'DATABASE_ERROR' })
    expect(run.errorMessage).toMatch(/full/)
    expect(run.loaded).toBeLessThan(2000)

    await sql.raw('pragma max_page_count = 1073741823').execute(test.db.kysely)
    const next = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(next).toMatchObject({ status: 'succeeded', errorCode: null })
    expect(await test.count('records')).toBe(2000)
  })
})

describe.runIf(DIALECTS.includes('postgres'))('a PostgreSQL server gone for a moment mid-import', () => {
  it('records the run failed with DATABASE_ERROR once the server is back, rather than leave it running', async () => {
    test = await createTestDatabase('postgres')
    const target = new URL(test.url)
    const proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) })
    cleanups.push(() => proxy.close())
    const proxied = new URL(test.url)
    proxied.hostname = '127.0.0.1'
    proxied.port = String(proxy.port)
    const db: Db = await openDatabase(parseDatabaseUrl(proxied.toString()))
    cleanups.push(() => db.close())
    const ctx = { ...pipelineContext(test, { CSV_BATCH_ROWS: '10' }), db }
    const file = writeCsv(csvText(200))

    // Once the first batch has committed, the server goes for 1.5 s: the batch in flight fails, and
    // so does recording the run's end at first.
    let restored: Promise<void> | undefined
    const onProgress = (_: RunProgress) => {
      if (restored) return
      proxy.cut()
      restored = new Promise((resolve) => setTimeout(resolve, 1500)).then(() => proxy.restore())
    }
    const run = await runSource(ctx, 'csv', { trigger: 'cli', files: [file], onProgress })
    expect(run).toMatchObject({ status: 'failed', errorCode: 'DATABASE_ERROR' })
    expect(run.loaded).toBeGreaterThan(0)
    expect(run.loaded).toBeLessThan(200)
    await restored

    const next = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(next).toMatchObject({ status: 'succeeded', errorCode: null })
    expect(await test.count('records')).toBe(200)
  })
})

/** A TCP proxy to PostgreSQL: `cut` drops every connection and refuses new ones, `restore` listens again. */
async function startProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    }
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('data', (chunk: Buffer) => to.write(chunk))
      from.on('error', () => to.destroy())
      from.on('close', () => to.destroy())
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const cut = () => {
    server.close()
    for (const socket of sockets) socket.destroy()
  }
  return {
    port,
    cut,
    async restore() {
      if (!server.listening) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    },
    close: cut,
  }
}
