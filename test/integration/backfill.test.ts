import { afterEach, describe, expect, it } from 'vitest'
import { coinsOf } from '../../fake-upstream/catalogue.js'
import { sinceOf } from '../../fake-upstream/market-model.js'
import { runBackfill } from '../../src/pipeline/backfill.js'
import { HISTORY_STEPS, type HistoryBatchMeta } from '../../src/sources/history.js'
import { duplicateKeys, startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

const DAY = 86_400_000
const HISTORY_DAYS = 400

/** Three coins both upstreams list, and that existed 400 days ago. */
function threeOldCoins(now: number) {
  return coinsOf('coingecko')
    .filter((c) => c.coinpaprika !== undefined && sinceOf(c) < now - (HISTORY_DAYS + 2) * DAY)
    .slice(0, 3)
}

interface StoredWindow extends HistoryBatchMeta {
  readonly rows: number
  readonly stream: string
}

async function windowsOf(live: LiveFixture, source: string): Promise<StoredWindow[]> {
  const rows = await live.test.db.kysely
    .selectFrom('rawBatches')
    .select(['stream', 'meta', 'rowCount'])
    .where('source', '=', source)
    .where('stream', 'like', 'history:%')
    .orderBy('id')
    .execute()
  return rows.map((row) => ({
    ...(JSON.parse(row.meta) as HistoryBatchMeta),
    rows: row.rowCount,
    stream: row.stream,
  }))
}

/** The points the upstream has at `step` in a window: every multiple of the step (from the epoch) in it, up to its clock. */
function expectedPoints(window: HistoryBatchMeta, upstreamNow: number, since: number): number {
  const step = HISTORY_STEPS[window.step]
  const first = Math.max(Math.ceil(Date.parse(window.from) / 1000) * 1000, since)
  const last = Math.min((Math.ceil(Date.parse(window.to) / 1000) - 1) * 1000, upstreamNow)
  return last < first ? 0 : Math.floor(last / step) - Math.ceil(first / step) + 1
}

async function timesOf(live: LiveFixture, source: string, sourceAssetId: string): Promise<number[]> {
  const rows = await live.test.db.kysely
    .selectFrom('records')
    .select('observedAt')
    .where('source', '=', source)
    .where('sourceAssetId', '=', sourceAssetId)
    .orderBy('observedAt')
    .execute()
  return rows.map((r) => Date.parse(r.observedAt))
}

/** Every window's points are where the step puts them, as many as the upstream has, and nowhere else. */
async function expectWindowsLoaded(
  live: LiveFixture,
  source: 'coingecko' | 'coinpaprika',
  coins: ReturnType<typeof threeOldCoins>,
) {
  const windows = await windowsOf(live, source)
  for (const coin of coins) {
    const id = coin[source]!.id
    const own = windows.filter((w) => w.asset.id === id)
    const times = await timesOf(live, source, id)
    let total = 0
    for (const window of own) {
      const from = Date.parse(window.from)
      const to = Date.parse(window.to)
      const inside = times.filter((t) => t >= from && t < to)
      const expected = expectedPoints(window, live.fake.now.getTime(), sinceOf(coin))
      expect(window.rows, `${id} ${window.step} ${window.from}`).toBe(expected)
      expect(inside.length, `${id} ${window.step} ${window.from}`).toBe(expected)
      for (const t of inside) expect(t % HISTORY_STEPS[window.step]).toBe(0)
      total += expected
    }
    // Nothing outside the windows, nothing twice.
    expect(times.length).toBe(total)
    expect(new Set(times).size).toBe(times.length)
  }
  return windows
}

describe.each(DIALECTS)('backfill from the upstreams’ history, on %s', (dialect) => {
  let live: LiveFixture
  afterEach(() => live?.close())

  it('CoinGecko (Demo plan): 3 assets × 400 days, 5-minute points for the last day, hourly before, partial beyond 365 days', async () => {
    live = await startLive(dialect, {}, { now: new Date() })
    const now = Date.now()
    const coins = threeOldCoins(now)
    expect(coins).toHaveLength(3)
    const run = await runBackfill(live.ctx, {
      source: 'coingecko',
      assets: coins.map((c) => c.coingecko!.id),
      from: new Date(now - HISTORY_DAYS * DAY).toISOString(),
    })
    expect(run).toMatchObject({ trigger: 'backfill', status: 'partial', errorCode: 'HISTORY_OUT_OF_RANGE' })
    expect(run.errorMessage).toMatch(/beyond the plan's history \(upstream error 10012/)

    const windows = await expectWindowsLoaded(live, 'coingecko', coins)
    for (const coin of coins) {
      const own = windows.filter((w) => w.asset.id === coin.coingecko!.id)
      // One day of 5-minute points, then four 90-day windows and a last one up to the year's edge, hourly.
      expect(own.map((w) => w.step)).toEqual(['5m', '1h', '1h', '1h', '1h', '1h'])
      expect(own[0]!.rows).toBeGreaterThanOrEqual(284)
      expect(own[1]!.rows).toBe(90 * 24)
      const oldest = Date.parse(own[own.length - 1]!.from)
      expect(now - oldest).toBeLessThan(365 * DAY)
      expect(now - oldest).toBeGreaterThan(364 * DAY)
      // Each window starts where the next newer one ends: no gap, no overlap.
      for (let i = 1; i < own.length; i++) expect(own[i]!.to).toBe(own[i - 1]!.from)
    }
    // The window beyond the year was asked for once per asset, refused, and never retried.
    const refused = live.fake.requests.filter(
      (r) => r.path.endsWith('/market_chart/range') && r.status === 401,
    )
    expect(refused).toHaveLength(3)
    expect(await duplicateKeys(live.test, 'coingecko')).toBe(0)
    // A backfill is a run of its own in the history, and left the snapshot stream's checkpoint alone.
    const checkpoints = await live.test.db.kysely.selectFrom('checkpoints').select('stream').execute()
    expect(checkpoints.map((c) => c.stream).sort()).toEqual(
      coins.map((c) => `history:${c.coingecko!.id}`).sort(),
    )

    // Again: only what it does not hold yet (the moments since, and the refused range) is asked for.
    const calls = live.fake.requests.length
    const again = await runBackfill(live.ctx, {
      source: 'coingecko',
      assets: coins.map((c) => c.coingecko!.id),
      from: new Date(now - HISTORY_DAYS * DAY).toISOString(),
    })
    expect(again.errorMessage).toBe(run.errorMessage)
    expect(again).toMatchObject({ status: 'partial', loaded: 0, errorCode: 'HISTORY_OUT_OF_RANGE' })
    const chartCalls = live.fake.requests.slice(calls).filter((r) => r.path.endsWith('/market_chart/range'))
    expect(chartCalls.length).toBeLessThanOrEqual(6)
    expect(await duplicateKeys(live.test, 'coingecko')).toBe(0)
  })

  it('CoinGecko (Pro plan): the whole 400 days, hourly, and the run succeeds', async () => {
    const key = 'CG-proKey0123456789abcdef'
    live = await startLive(
      dialect,
      { COINGECKO_API_KEY: key, COINGECKO_API_PLAN: 'pro' },
      { now: new Date(), keys: { coingecko: { key, plan: 'pro' } } },
    )
    const now = Date.now()
    const [coin] = threeOldCoins(now)
    const run = await runBackfill(live.ctx, {
      source: 'coingecko',
      assets: [coin!.coingecko!.id],
      from: new Date(now - HISTORY_DAYS * DAY).toISOString(),
    })
    expect(run).toMatchObject({ trigger: 'backfill', status: 'succeeded', errorCode: null })
    const windows = await expectWindowsLoaded(live, 'coingecko', [coin!])
    expect(windows.map((w) => w.step)).toEqual(['5m', '1h', '1h', '1h', '1h', '1h'])
    expect(Date.parse(windows[windows.length - 1]!.from)).toBe(now - HISTORY_DAYS * DAY)
  })

  it('CoinPaprika (free plan): 5-minute points for the last day, daily for the year, 10012 beyond it ends partial', async () => {
    live = await startLive(dialect, {}, { now: new Date() })
    const now = Date.now()
    const coins = threeOldCoins(now)
    const run = await runBackfill(live.ctx, {
      source: 'coinpaprika',
      assets: coins.map((c) => c.coinpaprika!.id),
      from: new Date(now - HISTORY_DAYS * DAY).toISOString(),
    })
    expect(run).toMatchObject({ trigger: 'backfill', status: 'partial', errorCode: 'HISTORY_OUT_OF_RANGE' })
    const windows = await expectWindowsLoaded(live, 'coinpaprika', coins)
    for (const coin of coins) {
      const own = windows.filter((w) => w.asset.id === coin.coinpaprika!.id)
      expect(own.map((w) => w.step)).toEqual(['5m', '1d'])
      expect(own[1]!.rows).toBeGreaterThanOrEqual(363)
    }
    const refused = live.fake.requests.filter((r) => r.path.endsWith('/historical') && r.status === 401)
    expect(refused).toHaveLength(3)
    expect(await duplicateKeys(live.test, 'coinpaprika')).toBe(0)
  })

  it('takes canonical asset ids, and fails naming the ids the upstream does not know', async () => {
    live = await startLive(dialect, {}, { now: new Date() })
    await live.run('coinpaprika')
    const now = Date.now()
    const [coin] = threeOldCoins(now)
    const alias = await live.test.db.kysely
      .selectFrom('assetAliases')
      .select('assetId')
      .where('source', '=', 'coinpaprika')
      .where('sourceAssetId', '=', coin!.coinpaprika!.id)
      .executeTakeFirstOrThrow()
    const run = await runBackfill(live.ctx, {
      source: 'coinpaprika',
      assets: [alias.assetId],
      from: new Date(now - 2 * DAY).toISOString(),
    })
    expect(run.status).toBe('succeeded')
    expect((await windowsOf(live, 'coinpaprika')).map((w) => w.asset.id)).toEqual([
      coin!.coinpaprika!.id,
      coin!.coinpaprika!.id,
    ])

    const unknown = await runBackfill(live.ctx, {
      source: 'coinpaprika',
      assets: ['no-such-coin'],
      from: new Date(now - 2 * DAY).toISOString(),
    })
    expect(unknown).toMatchObject({ status: 'failed', errorCode: 'BACKFILL_ASSET_UNKNOWN' })
    expect(unknown.errorMessage).toContain('no-such-coin')
  })

  it('backfills the top N by market cap, beside a snapshot run of the same source', async () => {
    live = await startLive(dialect, {}, { now: new Date() })
    const now = Date.now()
    const [backfill, snapshot] = await Promise.all([
      runBackfill(live.ctx, {
        source: 'coingecko',
        assets: [],
        top: 2,
        from: new Date(now - 3 * DAY).toISOString(),
      }),
      live.run('coingecko'),
    ])
    expect(backfill.status).toBe('succeeded')
    expect(snapshot.status).toBe('succeeded')
    expect(new Set((await windowsOf(live, 'coingecko')).map((w) => w.asset.id)).size).toBe(2)
  })
})
