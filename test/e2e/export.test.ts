import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ApiFixture, importCsv, startApi } from '../helpers/api-fixture.js'
import { cliEnv, killStartedProcesses, runCli } from '../helpers/cli.js'
import { recordsFromCsvFile, recordsFromParquetFile } from '../helpers/export-files.js'
import { csvText } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

describe.each(DIALECTS)('coinpipe export on %s', (dialect) => {
  let api: ApiFixture
  let dir: string
  beforeEach(async () => {
    api = await startApi(dialect)
    await importCsv(api.ctx, csvText(40) + '2024-01-03,NUL,1.5,N/A\n')
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-export-cli-'))
  })
  afterEach(async () => {
    await killStartedProcesses()
    await api.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const exportCli = (args: string[]) =>
    runCli(['export', ...args], { cwd: dir, env: cliEnv({ DATABASE_URL: api.test.url }) })
  const jsonItems = async (query: string) => {
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/records?${query}` })
    return response.json<{ data: Record<string, unknown>[] }>().data
  }

  it.each(['csv', 'parquet'] as const)(
    'writes %s that reads back equal to the JSON answer, and prints one summary line',
    async (format) => {
      const out = join(dir, `btc.${format}`)
      const result = await exportCli([
        '--format',
        format,
        '--asset',
        'btc',
        '--asset',
        'nul',
        '--from',
        '2024-01-02',
        '--to',
        '2024-01-06',
        '--out',
        out,
      ])

      expect(result.code, result.stderr).toBe(0)
      const range = 'from=2024-01-02&to=2024-01-06&order=asc&limit=1000'
      const expected = [
        ...(await jsonItems(`asset=btc&${range}`)),
        ...(await jsonItems(`asset=nul&${range}`)),
      ]
      expect(expected).toHaveLength(5)
      const written = format === 'csv' ? recordsFromCsvFile(out) : await recordsFromParquetFile(out)
      expect(written.items).toEqual(expected)
      expect(result.stdout.trim()).toBe(
        `exported 5 record(s) to ${out} (${format}, ${statSync(out).size.toLocaleString('en-US')} bytes)`,
      )
      expect(readdirSync(dir)).toEqual([`btc.${format}`])
    },
  )

  it.each([
    [['--format', 'xml', '--out', 'x.xml'], 2, /--format.*xml.*csv, parquet/],
    [['--format', 'csv'], 2, /--out/],
    [['--out', 'x.csv'], 2, /--format/],
    [
      ['--format', 'csv', '--from', '2024-01-05', '--to', '2024-01-05', '--out', 'x.csv'],
      2,
      /--to .* later than --from/,
    ],
    [['--format', 'csv', '--from', 'yesterday', '--out', 'x.csv'], 2, /--from "yesterday" is not a date/],
    [['--format', 'csv', '--source', 'nasdaq', '--out', 'x.csv'], 2, /--source.*nasdaq/],
    [
      ['--format', 'csv', '--asset', 'btc', '--asset', 'no-such-coin', '--out', 'x.csv'],
      4,
      /asset no-such-coin does not exist/,
    ],
    [['--format', 'parquet', '--out', 'missing/dir/x.parquet'], 4, /cannot write missing\/dir\/x\.parquet/],
  ])('refuses %j with exit %i and one line', async (args, code, message) => {
    const result = await exportCli(args)
    expect(result.code, result.stderr).toBe(code)
    expect(result.stderr).toMatch(message)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stdout).toBe('')
    expect(readdirSync(dir)).toEqual([])
  })

  it('leaves no partial file when the finished file cannot take its place', async () => {
    mkdirSync(join(dir, 'taken', 'inside'), { recursive: true })
    const result = await exportCli(['--format', 'csv', '--out', 'taken'])
    expect(result.code).toBe(4)
    expect(result.stderr).toMatch(/^coinpipe: cannot write taken: /)
    expect(readdirSync(dir)).toEqual(['taken'])
  })
})
