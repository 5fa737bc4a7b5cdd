import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cliEnv, killStartedProcesses, runCli, type ProcessResult } from '../helpers/cli.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

const GOOD_CSV = [
  'date,symbol,price_usd,market_cap_usd',
  '2024-01-01,BTC,42000,820000000000',
  '2024-01-02,BTC,43000,840000000000',
  '2024-01-01,ETH,2300,',
].join('\n')

interface RunSummary {
  source: string
  status: string
  extracted: number
  loaded: number
  unchanged: number
  rejected: number
  error_code: string | null
}

/** One line on stderr, prefixed `coinpipe:`, with no stack frames. */
function expectOneSentence(result: ProcessResult) {
  expect(result.stderr.trim().split('\n')).toHaveLength(1)
  expect(result.stderr).toMatch(/^coinpipe: /)
  expect(result.stderr).not.toMatch(/\n\s+at /)
}

function runsOf(result: ProcessResult): RunSummary[] {
  return (JSON.parse(result.stdout) as { runs: RunSummary[] }).runs
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coinpipe-e2e-'))
})
afterEach(async () => {
  await killStartedProcesses()
  rmSync(dir, { recursive: true, force: true })
})

describe('coinpipe without a database', () => {
  const env = () => cliEnv({ DATABASE_URL: `sqlite:${join(dir, 'unused.db')}` })

  it('lists the commands in --help and exits 0', async () => {
    const help = await runCli(['--help'], { cwd: dir, env: env() })
    expect(help.code).toBe(0)
    for (const command of ['serve', 'migrate', 'etl']) expect(help.stdout).toContain(command)
  })

  it('lists the options of etl run in its --help and exits 0', async () => {
    const help = await runCli(['etl', 'run', '--help'], { cwd: dir, env: env() })
    expect(help.code).toBe(0)
    for (const option of ['--source', '--file', '--json']) expect(help.stdout).toContain(option)
  })

  it('exits 4 with one sentence when the file to import does not exist', async () => {
    const result = await runCli(['etl', 'run', '--file', 'missing.csv'], { cwd: dir, env: env() })
    expect(result.code).toBe(4)
    expectOneSentence(result)
    expect(result.stderr).toContain('missing.csv')
  })

  it('exits 2 with one message naming every bad variable, without echoing the database URL', async () => {
    const result = await runCli(['migrate'], {
      cwd: dir,
      env: cliEnv({ DATABASE_URL: 'mysql://x', PORT: 'abc' }),
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^coinpipe: /)
    expect(result.stderr.match(/^coinpipe: /gm)).toHaveLength(1)
    expect(result.stderr).toContain('DATABASE_URL')
    expect(result.stderr).toContain('PORT')
    expect(result.stderr).not.toContain('mysql://x')
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('exits 3 with one sentence when PostgreSQL cannot be reached', async () => {
    const result = await runCli(['migrate'], {
      cwd: dir,
      env: cliEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' }),
    })
    expect(result.code).toBe(3)
    expectOneSentence(result)
    expect(result.stderr).toContain('postgres')
  })
})

describe.each(DIALECTS)('coinpipe on %s', (dialect) => {
  let test: TestDatabase
  let env: NodeJS.ProcessEnv
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
    env = cliEnv({ DATABASE_URL: test.url })
    writeFileSync(join(dir, 'good.csv'), GOOD_CSV)
  })
  afterEach(async () => {
    await killStartedProcesses()
    await test.destroy()
  })
  const cli = (...args: string[]) => runCli(args, { cwd: dir, env })

  it('exits 4 naming the available sources when asked for an unknown one', async () => {
    const result = await cli('etl', 'run', '--source', 'nope')
    expect(result.code).toBe(4)
    expectOneSentence(result)
    expect(result.stderr).toContain('"nope"')
    expect(result.stderr).toContain('csv')
  })

  it('exits 4 naming the available sources when asked to reset an unknown one', async () => {
    const result = await cli('etl', 'reset', '--source', 'nope')
    expect(result.code).toBe(4)
    expectOneSentence(result)
    expect(result.stderr).toContain('available: csv')
  })

  it('imports a file, prints a JSON summary and exits 0; the same file again loads nothing', async () => {
    const first = await cli('etl', 'run', '--file', 'good.csv', '--json')
    expect(first.code, first.stderr).toBe(0)
    expect(runsOf(first)).toEqual([
      expect.objectContaining({
        source: 'csv',
        status: 'succeeded',
        extracted: 3,
        loaded: 3,
        unchanged: 0,
        rejected: 0,
        error_code: null,
      }),
    ])

    const again = await cli('etl', 'run', '--file', 'good.csv', '--json')
    expect(again.code, again.stderr).toBe(0)
    expect(runsOf(again)).toEqual([expect.objectContaining({ status: 'succeeded', extracted: 0, loaded: 0 })])
    const records = await test.db.kysely.selectFrom('records').select('id').execute()
    expect(records).toHaveLength(3)
  })

  it('fails the run with CSV_HEADER_INVALID and exits 1 when the header has no price column', async () => {
    writeFileSync(join(dir, 'no-price.csv'), 'date,symbol,volume\n2024-01-01,BTC,1\n')
    const result = await cli('etl', 'run', '--file', 'no-price.csv', '--json')
    expect(result.code).toBe(1)
    expect(runsOf(result)).toEqual([
      expect.objectContaining({ status: 'failed', loaded: 0, error_code: 'CSV_HEADER_INVALID' }),
    ])
  })

  it('reads a file again after its checkpoint is reset, finding every row unchanged', async () => {
    expect((await cli('etl', 'run', '--file', 'good.csv', '--json')).code).toBe(0)

    const reset = await cli('etl', 'reset', '--source', 'csv', '--stream', 'good.csv')
    expect(reset.code, reset.stderr).toBe(0)
    expect(reset.stdout).toContain('forgot 1 checkpoint')

    const rerun = await cli('etl', 'run', '--file', 'good.csv', '--json')
    expect(rerun.code, rerun.stderr).toBe(0)
    expect(runsOf(rerun)).toEqual([
      expect.objectContaining({ status: 'succeeded', extracted: 3, loaded: 0, unchanged: 3 }),
    ])
  })

  it('says there is nothing to replay and exits 0 when no batch has failed', async () => {
    const result = await cli('etl', 'replay', '--failed')
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.trim()).toBe('no batches to replay')
  })

  it('exits 4 with one sentence when asked to replay a batch that does not exist', async () => {
    const result = await cli('etl', 'replay', '--batch', '999999')
    expect(result.code).toBe(4)
    expect(result.stderr.trim()).toBe('coinpipe: raw batch 999999 does not exist')
  })
})

describe.each(DIALECTS)('coinpipe migrate on an empty %s database', (dialect) => {
  let test: TestDatabase
  beforeEach(async () => {
    test = await createTestDatabase(dialect, { migrate: false })
  })
  afterEach(async () => {
    await killStartedProcesses()
    await test.destroy()
  })

  it('applies the migrations, and a second time has nothing to do', async () => {
    const env = cliEnv({ DATABASE_URL: test.url })
    const first = await runCli(['migrate'], { cwd: dir, env })
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^applied /m)
    expect(first.stdout).toContain('database is up to date')

    const second = await runCli(['migrate'], { cwd: dir, env })
    expect(second.code, second.stderr).toBe(0)
    expect(second.stdout).not.toMatch(/^applied /m)
    expect(second.stdout).toContain('database is up to date')
    expect(await test.db.kysely.selectFrom('records').select('id').execute()).toEqual([])
  })
})
