import { mkdtempSync, renameSync, rmSync } from 'node:fs'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cliEnv, killStartedProcesses, logLines, startCli, type StartedProcess } from '../helpers/cli.js'
import { writeLargeCsv } from '../helpers/large-csv.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

interface Health {
  status: 'ok' | 'degraded' | 'down'
  database: { reachable: boolean }
}

/** `node dist/bin/coinpipe.js serve` on a free port, once it says it is serving. */
async function startServe(cwd: string, env: Record<string, string>) {
  const proc = startCli(['serve'], {
    cwd,
    env: cliEnv({ PORT: '0', LOG_LEVEL: 'info', SOURCES: 'csv', ...env }),
  })
  const serving = await waitFor(
    () => {
      if (proc.exitedYet()) throw new Error(`coinpipe serve exited early:\n${proc.stderr()}`)
      return logLines(proc.stdout()).find((line) => line.msg === 'coinpipe is serving')
    },
    { what: 'coinpipe serve to listen', timeoutMs: 30_000 },
  )
  return { proc, url: serving.url as string, serving }
}

async function health(url: string): Promise<{ status: number; body: Health }> {
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) })
  return { status: response.status, body: (await response.json()) as Health }
}

/**
 * A TCP proxy between coinpipe and PostgreSQL, so an outage can be staged without touching the
 * shared server: `freeze` stops forwarding bytes (a hung network), `cut` drops every connection and
 * refuses new ones (the server gone), `restore` undoes both.
 */
async function startProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>()
  let frozen = false
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (!frozen) to.write(chunk)
    })
    from.on('error', () => to.destroy())
    from.on('close', () => to.destroy())
  }
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    }
    forward(client, upstream)
    forward(upstream, client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    freeze: () => (frozen = true),
    cut() {
      server.close()
      for (const socket of sockets) socket.destroy()
    },
    async restore() {
      frozen = false
      if (!server.listening) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    },
    close() {
      server.close()
      for (const socket of sockets) socket.destroy()
    },
  }
}

/** `url` with a password when the server accepts one (trust auth ignores it), so the test can look for it. */
async function withPasswordIfAccepted(
  url: string,
  password: string,
): Promise<{ url: string; password?: string }> {
  const parsed = new URL(url)
  if (parsed.password !== '') return { url, password: decodeURIComponent(parsed.password) }
  parsed.password = password
  const client = new pg.Client({ connectionString: parsed.toString(), connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    return { url: parsed.toString(), password }
  } catch {
    return { url }
  } finally {
    await client.end().catch(() => undefined)
  }
}

async function stop(proc: StartedProcess, signal: NodeJS.Signals) {
  process.kill(proc.pid, signal)
  const timeout = AbortSignal.timeout(10_000)
  return Promise.race([
    proc.exited,
    new Promise<never>((_, reject) =>
      timeout.addEventListener('abort', () => reject(new Error(`coinpipe did not stop on ${signal}`))),
    ),
  ])
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coinpipe-e2e-lifecycle-'))
})
afterEach(async () => {
  await killStartedProcesses()
  rmSync(dir, { recursive: true, force: true })
})

describe.each(DIALECTS)('serve stopping on %s', (dialect) => {
  let test: TestDatabase
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
  })
  afterEach(async () => {
    await killStartedProcesses()
    await test.destroy()
  })

  it('SIGINT, like SIGTERM, lets the batch in flight commit, ends the run partial (RUN_CANCELLED) and exits 0', async () => {
    const csv = await writeLargeCsv(join(dir, 'big.csv'), { rows: 200_000 })
    const { proc } = await startServe(dir, {
      DATABASE_URL: test.url,
      CSV_PATHS: csv.path,
      CSV_BATCH_ROWS: '1000',
      ETL_RUN_ON_START: 'true',
    })
    await waitFor(async () => (await test.count('records')) > 0, {
      what: 'a first batch to commit',
      timeoutMs: 30_000,
    })

    const stopped = await stop(proc, 'SIGINT')
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(logLines(stopped.stdout).map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'shutting down: draining requests and letting the batch in flight commit',
        'stopped',
      ]),
    )
    const [run] = await test.db.kysely.selectFrom('etlRuns').selectAll().execute()
    expect(run).toMatchObject({ source: 'csv', status: 'partial', errorCode: 'RUN_CANCELLED' })
    // Whole batches only: what the run counted is exactly what is stored, and it stopped early.
    expect(await test.count('records')).toBe(run!.loaded)
    expect(run!.extracted % 1000).toBe(0)
    expect(run!.extracted).toBeLessThan(csv.rows)
  }, 90_000)
})

describe('serve while its SQLite file goes away', () => {
  it('answers /health down (503) while the file is gone and ok once it is back', async () => {
    const test = await createTestDatabase('sqlite')
    try {
      const path = test.url.slice('sqlite:'.length)
      const { proc, url } = await startServe(dir, { DATABASE_URL: test.url })
      expect(await health(url)).toMatchObject({ status: 200, body: { status: 'ok' } })

      renameSync(path, `${path}.moved`)
      expect(await health(url)).toMatchObject({
        status: 503,
        body: { status: 'down', database: { reachable: false } },
      })
      renameSync(`${path}.moved`, path)
      expect(await health(url)).toMatchObject({ status: 200, body: { status: 'ok' } })
      expect((await stop(proc, 'SIGTERM')).code).toBe(0)
    } finally {
      await test.destroy()
    }
  }, 60_000)
})

describe.runIf(DIALECTS.includes('postgres'))('serve through a PostgreSQL outage', () => {
  let test: TestDatabase
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined
  beforeEach(async () => {
    test = await createTestDatabase('postgres')
  })
  afterEach(async () => {
    await killStartedProcesses()
    proxy?.close()
    await test.destroy()
  })

  it('etl run exits 3 with one sentence when the database goes away mid-run', async () => {
    const direct = new URL(test.url)
    proxy = await startProxy({ host: direct.hostname, port: Number(direct.port || 5432) })
    const viaProxy = new URL(test.url)
    viaProxy.hostname = '127.0.0.1'
    viaProxy.port = String(proxy.port)
    const csv = await writeLargeCsv(join(dir, 'big.csv'), { rows: 200_000 })
    const proc = startCli(['etl', 'run', '--file', csv.path], {
      cwd: dir,
      env: cliEnv({ DATABASE_URL: viaProxy.toString(), CSV_BATCH_ROWS: '1000' }),
    })
    await waitFor(async () => (await test.count('records')) > 0, {
      what: 'a first batch to commit',
      timeoutMs: 30_000,
    })
    proxy.cut()
    const result = await proc.exited
    expect(result.code, result.stderr).toBe(3)
    // Beside the JSON log lines (stderr is no terminal here), one sentence and no stack trace.
    expect(result.stderr.match(/^coinpipe: .*$/gm), result.stderr).toEqual([
      expect.stringMatching(/^coinpipe: lost the database \(.+\); check that it is up/),
    ])
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(logLines(result.stderr).map((line) => line.msg)).toContain(
      'run stopped: the database is unreachable',
    )
  }, 90_000)

  it('answers /health down within seconds, stays up, and recovers by itself when the database is back', async () => {
    const direct = new URL(test.url)
    proxy = await startProxy({ host: direct.hostname, port: Number(direct.port || 5432) })
    const { url: withPassword, password } = await withPasswordIfAccepted(test.url, 'outage-s3cret-pw')
    const viaProxy = new URL(withPassword)
    viaProxy.hostname = '127.0.0.1'
    viaProxy.port = String(proxy.port)
    const { proc, url, serving } = await startServe(dir, { DATABASE_URL: viaProxy.toString() })
    expect(await health(url)).toMatchObject({ status: 200, body: { status: 'ok' } })
    if (password) expect(serving.database).toContain(':[redacted]@127.0.0.1:')

    // A hung network: a read waits on the pooled connection it took, and the health check gives up
    // in its own time instead of hanging too.
    proxy.freeze()
    const hungRead = fetch(`${url}/api/v1/records`).then((r) => r.status)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const frozenAt = Date.now()
    expect(await health(url)).toMatchObject({
      status: 503,
      body: { status: 'down', database: { reachable: false } },
    })
    expect(Date.now() - frozenAt).toBeLessThan(5000)

    // The server goes: every connection drops, the one checked out by the read included (the
    // classic crash: an 'error' event on a pg client nobody listens to).
    proxy.cut()
    expect(await hungRead).toBeGreaterThanOrEqual(500)
    const cutAt = Date.now()
    expect(await health(url)).toMatchObject({ status: 503, body: { status: 'down' } })
    expect(Date.now() - cutAt).toBeLessThan(3000)
    expect(proc.exitedYet()).toBe(false)

    await proxy.restore()
    await waitFor(async () => (await health(url)).body.status === 'ok', {
      what: '/health to recover',
      timeoutMs: 15_000,
      intervalMs: 200,
    })
    const records = await fetch(`${url}/api/v1/records`)
    expect(records.status).toBe(200)
    expect(proc.exitedYet()).toBe(false)

    const stopped = await stop(proc, 'SIGTERM')
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(stopped.stderr).toBe('')
    for (const line of logLines(stopped.stdout)) expect(line).toHaveProperty('msg')
    if (password) expect(stopped.stdout + stopped.stderr).not.toContain(password)
  }, 90_000)
})
