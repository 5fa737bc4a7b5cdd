import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstream/server.js'
import { cliEnv, killStartedProcesses, logLines, runCli, startCli } from '../helpers/cli.js'
import { COINGECKO_COINS } from '../helpers/live-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const PER_PAGE = 5

describe.each(DIALECTS)('coinpipe serve with live sources on %s', (dialect) => {
  let test: TestDatabase
  let fake: FakeUpstream
  let dir: string
  let env: NodeJS.ProcessEnv
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
    fake = await startFakeUpstream()
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-e2e-live-'))
    env = cliEnv({
      DATABASE_URL: test.url,
      SOURCES: 'coingecko',
      COINGECKO_BASE_URL: fake.coingeckoUrl,
      COINGECKO_PER_PAGE: String(PER_PAGE),
      COINGECKO_MAX_PAGES: '100',
      COINGECKO_RATE_LIMIT: '1000/1s',
    })
  })
  afterEach(async () => {
    await killStartedProcesses()
    await fake.close()
    await test.destroy()
    rmSync(dir, { recursive: true, force: true })
  })

  it('SIGTERM mid-run lets the batch in flight commit, records the run, exits 0, and loses nothing', async () => {
    // Every page takes 200 ms, so the run is mid-way when the signal comes.
    fake.fault({ source: 'coingecko', kind: 'slow', delayMs: 200, times: Infinity })
    const server = startCli(['serve'], {
      cwd: dir,
      env: { ...env, PORT: '0', LOG_LEVEL: 'info', ETL_RUN_ON_START: 'true' },
    })
    await waitFor(async () => (await test.count('records')) >= 3 * PER_PAGE, {
      what: 'three pages to load',
      timeoutMs: 30_000,
    })
    const signalled = Date.now()
    process.kill(server.pid, 'SIGTERM')
    const stopped = await server.exited
    expect(stopped.code, stopped.stderr).toBe(0)
    expect(Date.now() - signalled).toBeLessThan(5000)
    expect(logLines(stopped.stdout).map((l) => l.msg)).toContain('stopped')

    const [run] = await test.db.kysely.selectFrom('etlRuns').selectAll().execute()
    expect(run).toMatchObject({
      source: 'coingecko',
      trigger: 'start',
      status: 'partial',
      errorCode: 'RUN_CANCELLED',
    })
    expect(run!.loaded).toBe(run!.batches * PER_PAGE)
    expect(await test.count('records')).toBe(run!.loaded)
    const pending = await test.db.kysely
      .selectFrom('rawBatches')
      .select('id')
      .where('status', '!=', 'loaded')
      .execute()
    expect(pending).toEqual([])

    // The next run carries on from the checkpoint: each coin of the snapshot exactly once.
    fake.clearFaults()
    const rest = await runCli(['etl', 'run', '--source', 'coingecko', '--json'], { cwd: dir, env })
    expect(rest.code, rest.stderr).toBe(0)
    const [summary] = (JSON.parse(rest.stdout) as { runs: { status: string; loaded: number }[] }).runs
    expect(summary).toMatchObject({ status: 'succeeded', loaded: COINGECKO_COINS - run!.loaded })
    expect(await test.count('records')).toBe(COINGECKO_COINS)
    const assets = await test.db.kysely
      .selectFrom('records')
      .select((eb) => eb.fn.count<number>('assetId').distinct().as('n'))
      .executeTakeFirstOrThrow()
    expect(Number(assets.n)).toBe(COINGECKO_COINS)
  }, 60_000)
})
