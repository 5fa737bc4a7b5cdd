import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  cliEnv,
  killStartedProcesses,
  logLines,
  REPO_ROOT,
  runCli,
  startProcess,
  type StartedProcess,
} from '../helpers/cli.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const PRICES = [
  'date,symbol,price_usd,market_cap_usd',
  '2024-01-01,BTC,42000,820000000000',
  '2024-01-02,BTC,43000.5,840000000000',
  '2024-01-01,ETH,2300,',
].join('\n')

interface Server {
  readonly process: StartedProcess
  readonly url: string
  /** The node process serving, which is not npx's own pid. */
  readonly pid: number
}

interface RecordPage {
  data: {
    symbol: string
    source: string
    observed_at: string
    price_usd: number
    market_cap_usd: number | null
  }[]
}

/**
 * `npx coinpipe serve` as a user types it, with cwd a temp dir (so no `.env` is read and nothing is
 * written to the repo) and `--prefix` pointing npx at this repository and its freshly built bin; npx
 * links the local package, so this works offline and never asks the registry. `PORT=0` picks a free
 * port, read back from the 'coinpipe is serving' log line.
 */
async function startServer(cwd: string, env: Record<string, string>): Promise<Server> {
  const proc = startProcess('npx', ['--prefix', REPO_ROOT, 'coinpipe', 'serve'], {
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
  return { process: proc, url: serving.url as string, pid: serving.pid as number }
}

/**
 * npx runs the bin through `sh -c`, and npm does not pass SIGTERM on past that shell: signalling npx
 * would orphan the server. So the signal goes where an orchestrator's would, to the server itself;
 * npx then exits with the server's code.
 */
async function stopServer(server: Server) {
  process.kill(server.pid, 'SIGTERM')
  const timeout = AbortSignal.timeout(5000)
  return Promise.race([
    server.process.exited,
    new Promise<never>((_, reject) =>
      timeout.addEventListener('abort', () => reject(new Error('coinpipe serve did not stop within 5 s'))),
    ),
  ])
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url)
  return { status: response.status, body: (await response.json()) as T }
}

describe.each(DIALECTS)('coinpipe serve on %s', (dialect) => {
  let test: TestDatabase
  let dir: string
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-e2e-'))
  })
  afterEach(async () => {
    await killStartedProcesses()
    await test.destroy()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves over HTTP what the CLI imported, and stops cleanly on SIGTERM', async () => {
    const server = await startServer(dir, { DATABASE_URL: test.url })
    await waitFor(async () => (await fetch(`${server.url}/health`)).status === 200, {
      what: 'GET /health to answer 200',
    })

    writeFileSync(join(dir, 'prices.csv'), PRICES)
    const imported = await runCli(['etl', 'run', '--file', 'prices.csv', '--json'], {
      cwd: dir,
      env: cliEnv({ DATABASE_URL: test.url }),
    })
    expect(imported.code, imported.stderr).toBe(0)
    expect(JSON.parse(imported.stdout)).toMatchObject({
      runs: [{ source: 'csv', status: 'succeeded', extracted: 3, loaded: 3, rejected: 0 }],
    })

    const btc = await getJson<RecordPage>(`${server.url}/api/v1/records?symbol=btc`)
    expect(btc.status).toBe(200)
    expect(btc.body.data).toEqual([
      expect.objectContaining({
        symbol: 'BTC',
        source: 'csv',
        observed_at: '2024-01-02T00:00:00.000Z',
        price_usd: 43000.5,
        market_cap_usd: 840000000000,
      }),
      expect.objectContaining({ observed_at: '2024-01-01T00:00:00.000Z', price_usd: 42000 }),
    ])
    const eth = await getJson<RecordPage>(`${server.url}/api/v1/records?symbol=ETH`)
    expect(eth.body.data).toEqual([expect.objectContaining({ price_usd: 2300, market_cap_usd: null })])

    const docs = await fetch(`${server.url}/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get('content-type')).toContain('text/html')
    const dashboard = await fetch(`${server.url}/`)
    expect(dashboard.status).toBe(200)
    expect(dashboard.headers.get('content-type')).toContain('text/html')

    const stopped = await stopServer(server)
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(logLines(stopped.stdout).map((line) => line.msg)).toContain('stopped')
  }, 60_000)

  it('exits 2 with one sentence, at once, when its port is taken', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    try {
      const port = (holder.address() as AddressInfo).port
      const result = await runCli(['serve'], {
        cwd: dir,
        env: cliEnv({ DATABASE_URL: test.url, PORT: String(port), SOURCES: 'csv' }),
        timeoutMs: 8000,
      })
      expect(result.code).toBe(2)
      expect(result.stderr.match(/^coinpipe: .*$/gm)).toEqual([
        expect.stringContaining(`cannot listen on 127.0.0.1:${port}`),
      ])
      expect(result.stderr).not.toMatch(/\n\s+at /)
    } finally {
      holder.close()
    }
  })

  it('imports the configured CSV files on start when ETL_RUN_ON_START is true', async () => {
    const file = join(dir, 'on-start.csv')
    writeFileSync(file, PRICES)
    const server = await startServer(dir, {
      DATABASE_URL: test.url,
      ETL_RUN_ON_START: 'true',
      CSV_PATHS: file,
    })

    const records = await waitFor(
      async () => {
        const page = await getJson<RecordPage>(`${server.url}/api/v1/records`)
        return page.body.data.length > 0 && page.body.data
      },
      { what: 'records to appear over HTTP', timeoutMs: 20_000, intervalMs: 100 },
    )
    // Newest first; on the same instant, the later-loaded row first.
    expect(records.map((r) => [r.symbol, r.observed_at, r.price_usd])).toEqual([
      ['BTC', '2024-01-02T00:00:00.000Z', 43000.5],
      ['ETH', '2024-01-01T00:00:00.000Z', 2300],
      ['BTC', '2024-01-01T00:00:00.000Z', 42000],
    ])
    const run = await waitFor(
      () =>
        test.db.kysely
          .selectFrom('etlRuns')
          .select(['source', 'trigger', 'status'])
          .where('status', '!=', 'running')
          .executeTakeFirst(),
      { what: 'the start-up run to finish' },
    )
    expect(run).toEqual({ source: 'csv', trigger: 'start', status: 'succeeded' })

    const stopped = await stopServer(server)
    expect(stopped.code, stopped.stderr).toBe(0)
  }, 60_000)
})
