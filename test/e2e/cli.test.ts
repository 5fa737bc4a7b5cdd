import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  cliEnv,
  killStartedProcesses,
  logLines,
  MAIN_JS,
  runCli,
  startCli,
  startProcess,
  type ProcessResult,
} from '../helpers/cli.js'
import { writeLargeCsv } from '../helpers/large-csv.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

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

  it.each([
    [[], ['serve', 'migrate', 'worker', 'etl', '--version', '--help', 'DATABASE_URL', 'LOG_LEVEL']],
    [['serve'], ['HOST, PORT', 'ETL_SCHEDULE', 'ETL_RUN_ON_START', 'API_KEYS', 'SIGTERM', 'SIGINT']],
    [['migrate'], ['DATABASE_URL']],
    [['worker'], ['--concurrency', 'REDIS_URL', 'QUEUE_PREFIX', 'QUEUE_LEASE_MS', 'SIGTERM']],
    [['etl'], ['run', 'replay', 'reset']],
    [
      ['etl', 'run'],
      ['--source', '--file', '--json', 'SOURCES', 'CSV_PATHS', 'CSV_BATCH_ROWS', 'Ctrl-C'],
    ],
    [
      ['etl', 'replay'],
      ['--batch', '--failed', '--json', 'FIELD_ALIASES'],
    ],
    [
      ['etl', 'reset'],
      ['--source', '--stream', 'DATABASE_URL'],
    ],
  ])('coinpipe %j --help exits 0, describes every option and shows examples', async (command, mentions) => {
    const help = await runCli([...command, '--help'], { cwd: dir, env: env() })
    expect(help.code).toBe(0)
    expect(help.stderr).toBe('')
    for (const text of [...mentions, 'Examples:', '$ coinpipe']) expect(help.stdout).toContain(text)
    // Every option line names what the option does, not only its flags.
    const options = help.stdout.split('Options:\n')[1]!.split('\n\n')[0]!.split('\n')
    for (const line of options.filter((l) => /^\s+-/.test(l)))
      expect(line.trim(), line).toMatch(/^-\S.*\s{2,}\w+ \w+/)
  })

  it('refuses `worker` without REDIS_URL, exit 2, before opening any database', async () => {
    const result = await runCli(['worker'], { cwd: dir, env: env() })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('coinpipe worker needs REDIS_URL')
    expect(existsSync(join(dir, 'unused.db'))).toBe(false)
  })

  it('lists every exit code in the top-level --help', async () => {
    const help = await runCli(['--help'], { cwd: dir, env: env() })
    const codes = help.stdout.split('Exit codes:\n')[1]!
    for (const code of ['0', '1', '2', '3', '4', '70'])
      expect(codes).toMatch(new RegExp(`^  ${code} +\\w`, 'm'))
  })

  it('prints its version', async () => {
    const result = await runCli(['--version'], { cwd: dir, env: env() })
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })

  it('exits 2 with one sentence on a usage mistake', async () => {
    for (const args of [['etl', 'run', '--bogus'], ['nope'], ['etl', 'reset']]) {
      const result = await runCli(args, { cwd: dir, env: env() })
      expect(result.code, args.join(' ')).toBe(2)
      expectOneSentence(result)
      expect(result.stderr).toContain('--help')
    }
  })

  it('exits 4 with one sentence when the file to import does not exist', async () => {
    const result = await runCli(['etl', 'run', '--file', 'missing.csv'], { cwd: dir, env: env() })
    expect(result.code).toBe(4)
    expectOneSentence(result)
    expect(result.stderr).toContain('missing.csv')
  })

  it('exits 2 with one sentence naming every bad variable, without echoing the database URL', async () => {
    const result = await runCli(['migrate'], {
      cwd: dir,
      env: cliEnv({ DATABASE_URL: 'mysql://x', PORT: 'abc' }),
    })
    expect(result.code).toBe(2)
    expectOneSentence(result)
    expect(result.stderr).toContain('DATABASE_URL')
    expect(result.stderr).toContain('PORT')
    expect(result.stderr).not.toContain('mysql://x')
  })

  it('exits 2 with one sentence for a bad DATABASE_URL, whatever the command', async () => {
    for (const args of [['etl', 'run'], ['serve']]) {
      const result = await runCli(args, { cwd: dir, env: cliEnv({ DATABASE_URL: 'mysql://x' }) })
      expect(result.code, args.join(' ')).toBe(2)
      expectOneSentence(result)
      expect(result.stderr).toContain('DATABASE_URL is invalid')
    }
  })

  it('exits 3 with one sentence when PostgreSQL cannot be reached, never showing its password', async () => {
    for (const args of [['migrate'], ['etl', 'run'], ['serve']]) {
      const result = await runCli(args, {
        cwd: dir,
        env: cliEnv({ DATABASE_URL: 'postgres://postgres:n0t-shown@127.0.0.1:1/x' }),
      })
      expect(result.code, args.join(' ')).toBe(3)
      expectOneSentence(result)
      expect(result.stderr).toContain('postgres://postgres:[redacted]@127.0.0.1:1/x')
      expect(result.stderr).toContain('ECONNREFUSED')
      expect(result.stderr).not.toContain('n0t-shown')
    }
  })

  it('exits 3 with one sentence when the SQLite file cannot be opened', async () => {
    writeFileSync(join(dir, 'not-a-dir.txt'), '')
    const result = await runCli(['etl', 'run'], {
      cwd: dir,
      env: cliEnv({ DATABASE_URL: `sqlite:${join(dir, 'not-a-dir.txt', 'x.db')}` }),
    })
    expect(result.code).toBe(3)
    expectOneSentence(result)
    expect(result.stderr).toContain('not-a-dir.txt')
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

  it('stops after the batch in flight on SIGINT: the run ends partial (RUN_CANCELLED) and the next one resumes', async () => {
    const csv = await writeLargeCsv(join(dir, 'big.csv'), { rows: 60_000 })
    const batched = { ...env, CSV_BATCH_ROWS: '1000' }
    const proc = startCli(['etl', 'run', '--file', 'big.csv', '--json'], { cwd: dir, env: batched })
    await waitFor(async () => (await test.count('records')) > 0, {
      what: 'a first batch to commit',
      timeoutMs: 30_000,
    })
    process.kill(proc.pid, 'SIGINT')
    const stopped = await proc.exited
    expect(stopped.code, stopped.stderr).toBe(0)
    const [run] = runsOf(stopped)
    expect(run).toMatchObject({ source: 'csv', status: 'partial', error_code: 'RUN_CANCELLED' })
    // Whole batches only, and it did stop early.
    expect(run!.extracted % 1000).toBe(0)
    expect(run!.extracted).toBeLessThan(csv.rows)
    expect(await test.count('records')).toBe(run!.loaded)
    expect(logLines(stopped.stderr).map((line) => line.msg)).toContain(
      'stopping after the batch in flight has committed; send it again to quit at once',
    )

    const rest = await runCli(['etl', 'run', '--file', 'big.csv', '--json'], {
      cwd: dir,
      env: batched,
      timeoutMs: 120_000,
    })
    expect(rest.code, rest.stderr).toBe(0)
    expect(runsOf(rest)).toEqual([
      expect.objectContaining({ status: 'succeeded', extracted: csv.rows - run!.extracted }),
    ])
    expect(await test.count('records')).toBe(csv.uniqueKeys)
  }, 180_000)

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

/** util-linux `script` gives a child a terminal, as a person's shell would. */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((path) => existsSync(path))

describe.skipIf(!SCRIPT)('coinpipe etl run on a terminal', () => {
  let test: TestDatabase
  beforeEach(async () => {
    test = await createTestDatabase('sqlite')
    writeFileSync(join(dir, 'good.csv'), GOOD_CSV)
  })
  afterEach(async () => {
    await killStartedProcesses()
    await test.destroy()
  })

  /** Output of `node dist/bin/coinpipe.js <args>` run on a terminal: stdout and stderr as the terminal shows them. */
  async function inTerminal(args: string[]): Promise<{ code: number | null; screen: string }> {
    const command = [process.execPath, MAIN_JS, ...args].map((a) => `'${a}'`).join(' ')
    const proc = startProcess(SCRIPT!, ['-qec', command, '/dev/null'], {
      cwd: dir,
      env: cliEnv({ DATABASE_URL: test.url, SOURCES: 'csv' }),
    })
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 30_000)
    const result = await proc.exited.finally(() => clearTimeout(timer))
    return { code: result.code, screen: result.stdout.replaceAll('\r\n', '\n') }
  }

  it('redraws one progress line per source on stderr, then prints the summary table', async () => {
    const { code, screen } = await inTerminal(['etl', 'run', '--file', 'good.csv'])
    expect(code, screen).toBe(0)
    const redraws = screen.split('\r\x1b[K').slice(1)
    expect(redraws.length).toBeGreaterThan(1)
    expect(redraws.at(-1)).toMatch(/^csv \[█+\] 100% 3 rows · [\d,]+\/s · 1 batch · 0 rejected · \d+\.\ds\n/)
    expect(screen).toMatch(
      /^run +source +status +rows +loaded +unchanged +rejected +batches +duration +error$/m,
    )
    expect(screen).toMatch(/^ +\d+ +csv +succeeded +3 +3 +0 +0 +1 +\d+\.\d\ds +-$/m)
  })

  it('draws nothing but the JSON with --json, even on a terminal', async () => {
    const { code, screen } = await inTerminal(['etl', 'run', '--file', 'good.csv', '--json'])
    expect(code, screen).toBe(0)
    expect(screen).not.toContain('\r')
    expect(JSON.parse(screen)).toMatchObject({ runs: [{ source: 'csv', status: 'succeeded', loaded: 3 }] })
  })
})
