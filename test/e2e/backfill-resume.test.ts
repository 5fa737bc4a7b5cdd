import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { coinsOf } from '../../fake-upstream/catalogue.js'
import { sinceOf } from '../../fake-upstream/market-model.js'
import { startFakeUpstream, type FakeRequest, type FakeUpstream } from '../../fake-upstream/server.js'
import type { RawBatchStatus } from '../../src/db/schema.js'
import type { HistoryBatchMeta } from '../../src/sources/history.js'
import { cliEnv, killStartedProcesses, runCli, startCli } from '../helpers/cli.js'
import { duplicateKeys } from '../helpers/live-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const ASSETS = 3
const HISTORY_DAYS = 200
/** 200 days of hourly points are windows of 90, 90 and 20 days per asset (no 5-minute day: the range ends 2 days ago). */
const WINDOWS = ASSETS * 3
const CHART_PATH = /^\/coins\/([^/]+)\/market_chart\/range$/

interface RunSummary {
  status: string
  loaded: number
  unchanged: number
  rejected: number
  error_code: string | null
}

describe.each(DIALECTS)('a backfill killed with SIGKILL on %s', (dialect) => {
  let fake: FakeUpstream
  let resumed: TestDatabase
  let clean: TestDatabase
  let dir: string
  beforeEach(async () => {
    fake = await startFakeUpstream({ now: new Date() })
    resumed = await createTestDatabase(dialect)
    clean = await createTestDatabase(dialect)
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-e2e-backfill-'))
  })
  afterEach(async () => {
    await killStartedProcesses()
    await fake.close()
    await resumed.destroy()
    await clean.destroy()
    rmSync(dir, { recursive: true, force: true })
  })

  // About a window every 250 ms: the backfill takes a few seconds, long enough to be killed mid-way.
  const envFor = (test: TestDatabase) =>
    cliEnv({
      DATABASE_URL: test.url,
      SOURCES: 'coingecko',
      COINGECKO_BASE_URL: fake.coingeckoUrl,
      COINGECKO_RATE_LIMIT: '5/1s',
      IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
      IDENTITY_COINS_LIST_REFRESH_MS: '0',
    })

  it('resumes with the first window not committed, asks for no committed window again, and loads what a clean backfill loads', async () => {
    // Hourly windows cut back from a fixed `to`, the same whatever each process's clock says.
    const to = Math.floor(fake.now.getTime() / HOUR) * HOUR - 2 * DAY
    const from = to - HISTORY_DAYS * DAY
    const ids = coinsOf('coingecko')
      .filter((coin) => sinceOf(coin) < from)
      .slice(0, ASSETS)
      .map((coin) => coin.coingecko!.id)
    expect(ids).toHaveLength(ASSETS)
    const args = [
      'etl',
      'backfill',
      '--source',
      'coingecko',
      ...ids.flatMap((id) => ['--asset', id]),
      '--from',
      new Date(from).toISOString(),
      '--to',
      new Date(to).toISOString(),
      '--json',
    ]

    const first = startCli(args, { cwd: dir, env: envFor(resumed) })
    await waitFor(
      async () => {
        if (first.exitedYet())
          throw new Error(`the backfill ended before it could be killed:\n${first.stderr()}`)
        // Into the second asset's stream, with a window stored and loading: mid-stream, one in flight.
        const loaded = await windowsOf(resumed, { status: 'loaded' })
        return loaded.length >= 4 && (await windowsOf(resumed, { status: 'pending' })).length > 0
      },
      { what: 'four windows to commit and a fifth to be loading', timeoutMs: 20_000, intervalMs: 10 },
    )
    first.child.kill('SIGKILL')
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' })

    const [killedRun, ...others] = await resumed.db.kysely.selectFrom('etlRuns').selectAll().execute()
    expect(others).toEqual([])
    expect(killedRun).toMatchObject({ trigger: 'backfill', status: 'running' })
    const committed = await windowsOf(resumed, { runId: killedRun!.id, status: 'loaded' })
    expect(committed.length).toBeGreaterThanOrEqual(4)
    expect(committed.length).toBeLessThan(WINDOWS)
    // One window loading and, read ahead while it loads, at most one more.
    const inFlight = await windowsOf(resumed, { runId: killedRun!.id, status: 'pending' })
    expect(inFlight.length).toBeLessThanOrEqual(2)
    const recordsAtKill = await resumed.count('records')

    const second = await runCli(args, { cwd: dir, env: envFor(resumed), timeoutMs: 30_000 })
    expect(second.code, second.stderr).toBe(0)
    const [summary] = (JSON.parse(second.stdout) as { runs: RunSummary[] }).runs
    expect(summary).toMatchObject({ status: 'succeeded', rejected: 0, unchanged: 0, error_code: null })
    const requests = [...fake.requests]

    const runs = await resumed.db.kysely.selectFrom('etlRuns').selectAll().orderBy('id').execute()
    expect(runs).toHaveLength(2)
    expect(runs[0]).toMatchObject({ id: killedRun!.id, status: 'failed', errorCode: 'RUN_INTERRUPTED' })
    expect(runs[0]!.errorMessage).toContain(String(first.pid))
    expect(runs[0]!.finishedAt).not.toBeNull()
    expect(runs[1]).toMatchObject({ trigger: 'backfill', status: 'succeeded', errorCode: null })
    // The window it was loading when killed is kept raw, marked interrupted, and was read again.
    const interrupted = await windowsOf(resumed, { runId: killedRun!.id, status: 'failed' })
    expect(interrupted.map((w) => w.errorCode)).toEqual(inFlight.map(() => 'RUN_INTERRUPTED'))
    expect(await windowsOf(resumed, { status: 'pending' })).toEqual([])

    // The same backfill, never killed, into a database of its own.
    const whole = await runCli(args, { cwd: dir, env: envFor(clean), timeoutMs: 30_000 })
    expect(whole.code, whole.stderr).toBe(0)
    expect((JSON.parse(whole.stdout) as { runs: RunSummary[] }).runs[0]!.status).toBe('succeeded')
    const allWindows = keysOf(await windowsOf(clean, { status: 'loaded' }))
    expect(allWindows).toHaveLength(WINDOWS)

    // The second run read exactly the windows the first had not committed, each once.
    const resumedWindows = keysOf(await windowsOf(resumed, { runId: runs[1]!.id, status: 'loaded' }))
    const committedKeys = keysOf(committed)
    expect([...committedKeys, ...resumedWindows].sort()).toEqual(allWindows)
    // Each process looks its assets up once: the second lookup is where the second process starts.
    const lookups = requests.flatMap((r, i) => (r.path === '/coins/markets' ? [i] : []))
    expect(lookups).toHaveLength(2)
    const firstAsked = chartKeys(requests.slice(0, lookups[1]))
    const secondAsked = chartKeys(requests.slice(lookups[1]))
    expect(secondAsked).toEqual(resumedWindows)
    expect(secondAsked.filter((key) => committedKeys.includes(key))).toEqual([])
    // Nothing asked twice by the killed process; asked again only what it had not committed when killed.
    expect(new Set(firstAsked).size).toBe(firstAsked.length)
    const askedNotCommitted = firstAsked.filter((key) => !committedKeys.includes(key))
    expect(askedNotCommitted.length).toBeLessThanOrEqual(2)
    for (const key of allWindows) {
      const times = [...firstAsked, ...secondAsked].filter((k) => k === key).length
      expect(times, key).toBe(askedNotCommitted.includes(key) ? 2 : 1)
    }

    // Nothing lost, nothing doubled: the records of a clean backfill, and the resumed run loaded only the rest.
    const records = await recordsOf(resumed)
    expect(records.length).toBeGreaterThan(WINDOWS * 20 * 24)
    expect(records).toEqual(await recordsOf(clean))
    expect(summary!.loaded).toBe(records.length - recordsAtKill)
    expect(await duplicateKeys(resumed, 'coingecko')).toBe(0)
    expect(await duplicateKeys(clean, 'coingecko')).toBe(0)
  }, 60_000)
})

interface StoredWindow {
  readonly asset: string
  readonly from: string
  readonly to: string
  readonly errorCode: string | null
}

async function windowsOf(
  test: TestDatabase,
  where: { runId?: number; status: RawBatchStatus },
): Promise<StoredWindow[]> {
  let query = test.db.kysely
    .selectFrom('rawBatches')
    .select(['meta', 'errorCode'])
    .where('stream', 'like', 'history:%')
    .where('status', '=', where.status)
  if (where.runId !== undefined) query = query.where('runId', '=', where.runId)
  const rows = await query.orderBy('id').execute()
  return rows.map((row) => {
    const meta = JSON.parse(row.meta) as HistoryBatchMeta
    return { asset: meta.asset.id, from: meta.from, to: meta.to, errorCode: row.errorCode }
  })
}

/** A window as the upstream is asked for it: whole seconds, `to` inclusive. */
function keysOf(windows: readonly StoredWindow[]): string[] {
  return windows
    .map(
      (w) => `${w.asset} ${Math.ceil(Date.parse(w.from) / 1000)} ${Math.ceil(Date.parse(w.to) / 1000) - 1}`,
    )
    .sort()
}

function chartKeys(requests: readonly FakeRequest[]): string[] {
  return requests
    .flatMap((r) => {
      const asset = CHART_PATH.exec(r.path)?.[1]
      return asset === undefined ? [] : [`${decodeURIComponent(asset)} ${r.query.from} ${r.query.to}`]
    })
    .sort()
}

async function recordsOf(test: TestDatabase) {
  // All columns: CamelCasePlugin would name `volume24hUsd` volume24h_usd, not the volume_24h_usd it is.
  const rows = await test.db.kysely
    .selectFrom('records')
    .selectAll()
    .where('source', '=', 'coingecko')
    .orderBy('sourceAssetId')
    .orderBy('observedAt')
    .execute()
  return rows.map((r) => [r.sourceAssetId, r.observedAt, r.priceUsd, r.marketCapUsd, r.volume24hUsd])
}
