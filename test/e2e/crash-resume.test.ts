import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cliEnv, killStartedProcesses, runCli, startCli } from '../helpers/cli.js'
import { writeLargeCsv } from '../helpers/large-csv.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

// 100 batches: plenty to kill mid-file, and the PostgreSQL run stays well inside the 60 s budget on a busy CI box.
const ROWS = 200_000
const BATCH_ROWS = 2000

interface RunSummary {
  id: number
  status: string
  batches: number
  extracted: number
  loaded: number
  unchanged: number
  rejected: number
  error_code: string | null
}

describe.each(DIALECTS)('an import killed with SIGKILL on %s', (dialect) => {
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

  const countRecords = () => test.count('records')
  const batchesOfRun = (runId: number) =>
    test.db.kysely
      .selectFrom('rawBatches')
      .select(['id', 'status', 'errorCode', 'rowCount'])
      .where('runId', '=', runId)
      .orderBy('id')
      .execute()

  it('resumes from the last committed batch and ends with every key exactly once', async () => {
    const csv = await writeLargeCsv(join(dir, 'big.csv'), { rows: ROWS, duplicateEvery: 100 })
    expect(csv.uniqueKeys).toBeLessThan(ROWS)
    const env = cliEnv({ DATABASE_URL: test.url, CSV_BATCH_ROWS: String(BATCH_ROWS) })
    const args = ['etl', 'run', '--file', csv.path, '--json']

    const first = startCli(args, { cwd: dir, env })
    // Freeze the importer once a few batches are in and one is in flight (stored raw, not yet
    // committed), so the state SIGKILL leaves behind is known rather than a race.
    const atKill = await waitFor(
      async () => {
        if (first.exitedYet())
          throw new Error(`the import ended before it could be killed:\n${first.stderr()}`)
        if ((await countRecords()) < 2 * BATCH_ROWS * 0.9) return undefined
        first.child.kill('SIGSTOP')
        await waitFor(() => isStopped(first.pid), { what: 'the importer to stop', timeoutMs: 2000 })
        const runs = await test.db.kysely.selectFrom('etlRuns').selectAll().execute()
        const pending = runs[0] && (await batchesOfRun(runs[0].id)).filter((b) => b.status === 'pending')
        if (runs.length === 1 && pending && pending.length > 0)
          return { run: runs[0]!, pending, records: await countRecords() }
        first.child.kill('SIGCONT')
        return undefined
      },
      { what: 'the import to be mid-file with a batch in flight', timeoutMs: 40_000, intervalMs: 10 },
    )
    first.child.kill('SIGKILL')
    // Only once it is reaped is its pid gone, which is how the next run knows it is dead.
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' })

    expect(atKill.records).toBeGreaterThan(0)
    expect(atKill.records).toBeLessThan(csv.uniqueKeys)
    expect(await countRecords()).toBe(atKill.records)
    expect(atKill.run).toMatchObject({ status: 'running', owner: `${hostname()}:${first.pid}` })
    // One batch loading and, read ahead while it loads, at most one more.
    expect(atKill.pending.length).toBeGreaterThanOrEqual(1)
    expect(atKill.pending.length).toBeLessThanOrEqual(2)
    const committed = (await batchesOfRun(atKill.run.id)).filter((b) => b.status === 'loaded')
    const committedRows = committed.reduce((sum, b) => sum + b.rowCount, 0)

    const second = await runCli(args, { cwd: dir, env, timeoutMs: 50_000 })
    expect(second.code, second.stderr).toBe(0)
    const [resumed] = (JSON.parse(second.stdout) as { runs: RunSummary[] }).runs
    expect(resumed).toMatchObject({ status: 'succeeded', rejected: 0, error_code: null })
    // It read only what the killed run had not committed: nothing skipped, nothing read twice.
    expect(resumed!.extracted).toBeLessThan(ROWS)
    expect(resumed!.extracted).toBe(ROWS - committedRows)
    expect(resumed!.loaded).toBe(csv.uniqueKeys - atKill.records)

    expect(await countRecords()).toBe(csv.uniqueKeys)
    const doubled = await test.db.kysely
      .selectFrom('records')
      .select(['assetId', 'source', 'observedAt'])
      .groupBy(['assetId', 'source', 'observedAt'])
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute()
    expect(doubled).toEqual([])

    const killed = await test.db.kysely
      .selectFrom('etlRuns')
      .selectAll()
      .where('id', '=', atKill.run.id)
      .executeTakeFirstOrThrow()
    expect(killed).toMatchObject({ status: 'failed', errorCode: 'RUN_INTERRUPTED' })
    expect(killed.errorMessage).toContain(String(first.pid))
    expect(killed.finishedAt).not.toBeNull()
    const inFlight = (await batchesOfRun(atKill.run.id)).filter((b) =>
      atKill.pending.some((p) => p.id === b.id),
    )
    expect(inFlight).toHaveLength(atKill.pending.length)
    for (const batch of inFlight)
      expect(batch).toMatchObject({ status: 'failed', errorCode: 'RUN_INTERRUPTED' })
    const stillPending = await test.db.kysely
      .selectFrom('rawBatches')
      .select('id')
      .where('status', '=', 'pending')
      .execute()
    expect(stillPending).toEqual([])
  }, 60_000)
})

/** Whether the kernel has stopped `pid` (state `T`); where /proc is missing, assume SIGSTOP is immediate. */
function isStopped(pid: number): boolean {
  const stat = `/proc/${pid}/stat`
  if (!existsSync(stat)) return true
  const text = readFileSync(stat, 'utf8')
  return text.slice(text.lastIndexOf(')') + 2).startsWith('T')
}
