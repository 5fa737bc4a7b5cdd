import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cliEnv, killStartedProcesses, runCli } from '../helpers/cli.js'

describe('coinpipe assets remap', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-remap-'))
  })
  afterEach(async () => {
    await killStartedProcesses()
    rmSync(dir, { recursive: true, force: true })
  })

  it('merges by a new override, dry run first; a record that meets another is set aside, and exits 0', async () => {
    const csv = join(dir, 'prices.csv')
    writeFileSync(
      csv,
      'date,symbol,name,price_usd\n2025-03-01,XBT,Bitcoin (XBT),86000\n2025-03-01,BTC,Bitcoin,86010\n2025-03-02,XBT,Bitcoin (XBT),94000\n',
    )
    const base = { DATABASE_URL: `sqlite:${join(dir, 'coinpipe.db')}`, SOURCES: 'csv', CSV_PATHS: csv }
    expect((await runCli(['etl', 'run', '--json'], { cwd: dir, env: cliEnv(base) })).code).toBe(0)

    const overrides = join(dir, 'overrides.json')
    writeFileSync(
      overrides,
      JSON.stringify({
        assets: [
          {
            asset_id: 'bitcoin',
            members: [
              { source: 'csv', source_asset_id: 'BTC:bitcoin' },
              { source: 'csv', source_asset_id: 'XBT:bitcoin (xbt)' },
            ],
            why: 'XBT is the old ticker of BTC in our export',
          },
        ],
      }),
    )
    const env = cliEnv({ ...base, IDENTITY_OVERRIDES_PATH: overrides })
    const dry = await runCli(['assets', 'remap', '--dry-run', '--json'], { cwd: dir, env })
    expect(dry.code, dry.stderr).toBe(0)
    // XBT's 2025-03-01 row meets BTC's row of that day with another price: it is set aside, not lost.
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, records_moved: 1, records_set_aside: 1 })

    const done = await runCli(['assets', 'remap'], { cwd: dir, env })
    expect(done.code, done.stderr).toBe(0)
    expect(done.stdout).toMatch(/1 alias\(es\) moved, 1 record\(s\) with them/)
    expect(done.stdout).toContain('1 record(s) met a different record at their new asset')
    expect(done.stdout).toContain('csv XBT:bitcoin (xbt): ')
    expect(done.stdout).toMatch(/audit trail: remap \S+ in asset_remaps/)
    // The command line is who asked, for the remap and for the run before it.
    const db = new Database(join(dir, 'coinpipe.db'), { readonly: true })
    expect(db.prepare('SELECT DISTINCT requested_by FROM asset_remaps').all()).toEqual([
      { requested_by: 'cli' },
    ])
    expect(db.prepare('SELECT trigger, started_by FROM etl_runs').all()).toEqual([
      { trigger: 'cli', started_by: 'cli' },
    ])
    db.close()

    const again = await runCli(['assets', 'remap', '--json'], { cwd: dir, env })
    expect(JSON.parse(again.stdout)).toMatchObject({ dry_run: false, records_moved: 0, moves: [] })
  })

  it('exits 2 naming the override file when it is not valid', async () => {
    const overrides = join(dir, 'bad.json')
    writeFileSync(overrides, '{"assets": [{"coingecko": "bitcoin"}]}')
    const result = await runCli(['assets', 'remap'], {
      cwd: dir,
      env: cliEnv({ DATABASE_URL: `sqlite:${join(dir, 'coinpipe.db')}`, IDENTITY_OVERRIDES_PATH: overrides }),
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('bad.json')
    expect(result.stderr).toContain('must have required properties why')
    expect(result.stderr).not.toMatch(/^\s+at /m)
  })
})
