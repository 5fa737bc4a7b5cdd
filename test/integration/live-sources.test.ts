import { afterEach, describe, expect, it } from 'vitest'
import { findCheckpoint } from '../../src/db/repositories/checkpoint-repository.js'
import { replayBatch } from '../../src/pipeline/replay.js'
import {
  COINGECKO_COINS,
  COINGECKO_PAGES,
  COINPAPRIKA_COINS,
  PER_PAGE,
  startLive,
  type LiveFixture,
} from '../helpers/live-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

/** Every coin of the snapshot stored exactly once: nothing lost, nothing doubled. */
async function expectOneRecordPerCoin(live: LiveFixture, source: string, coins: number) {
  const rows = await live.test.db.kysely
    .selectFrom('records')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.count<number>('assetId').distinct().as('assets'),
    ])
    .where('source', '=', source)
    .executeTakeFirstOrThrow()
  expect(Number(rows.n)).toBe(coins)
  expect(Number(rows.assets)).toBe(coins)
}

describe.each(DIALECTS)('live sources against the fake upstream, on %s', (dialect) => {
  let live: LiveFixture
  afterEach(() => live?.close())

  it('loads every CoinGecko page and every CoinPaprika ticker once', async () => {
    live = await startLive(dialect)
    const gecko = await live.run('coingecko')
    expect(gecko).toMatchObject({
      status: 'succeeded',
      batches: COINGECKO_PAGES,
      extracted: COINGECKO_COINS,
      loaded: COINGECKO_COINS,
    })
    expect(live.fake.count('coingecko', '/coins/markets')).toBe(COINGECKO_PAGES)
    expect(live.fake.requests.map((r) => r.query.page)).toEqual(
      Array.from({ length: COINGECKO_PAGES }, (_, i) => String(i + 1)),
    )
    expect(live.fake.requests.every((r) => r.query.per_page === String(PER_PAGE))).toBe(true)
    const paprika = await live.run('coinpaprika')
    expect(paprika).toMatchObject({ status: 'succeeded', batches: 1, loaded: COINPAPRIKA_COINS })
    expect(live.fake.count('coinpaprika', '/tickers')).toBe(1)
    await expectOneRecordPerCoin(live, 'coingecko', COINGECKO_COINS)
    await expectOneRecordPerCoin(live, 'coinpaprika', COINPAPRIKA_COINS)
  })

  it('loads 0 new records when nothing changed upstream, and only the changed ones after', async () => {
    live = await startLive(dialect)
    await live.run('coinpaprika')
    const again = await live.run('coinpaprika')
    expect(again).toMatchObject({ status: 'succeeded', loaded: 0, unchanged: COINPAPRIKA_COINS, rejected: 0 })
    live.fake.advance(5 * 60_000)
    const later = await live.run('coinpaprika')
    expect(later.loaded).toBeGreaterThan(0)
    expect(later.loaded).toBeLessThan(COINPAPRIKA_COINS)
    expect(later.loaded + later.unchanged).toBe(COINPAPRIKA_COINS)
    expect(await live.test.count('records')).toBe(COINPAPRIKA_COINS + later.loaded)
  })

  it('stores observed_at as the upstream last_updated, and unknowns as NULL', async () => {
    live = await startLive(dialect)
    await live.run('coinpaprika')
    const eth = await live.test.db.kysely
      .selectFrom('records')
      .innerJoin('assetAliases', 'assetAliases.assetId', 'records.assetId')
      .selectAll('records')
      .where('assetAliases.sourceAssetId', '=', 'eth-ethereum')
      .executeTakeFirstOrThrow()
    // CoinPaprika says max_supply 0 for ETH: no cap, stored as unknown; the free plan has no circulating supply.
    expect(eth.maxSupply).toBeNull()
    expect(eth.circulatingSupply).toBeNull()
    expect(eth.observedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
    const raw = await live.test.db.kysely.selectFrom('rawBatches').select('payload').executeTakeFirstOrThrow()
    const item = (JSON.parse(raw.payload) as { id: string; last_updated: string }[]).find(
      (t) => t.id === 'eth-ethereum',
    )!
    expect(eth.observedAt).toBe(new Date(item.last_updated).toISOString())
  })

  describe('faults', () => {
    it('429 with Retry-After in seconds: waits as told, then succeeds', async () => {
      live = await startLive(dialect)
      live.fake.fault({
        source: 'coingecko',
        path: '/coins/markets',
        page: 2,
        kind: 'rate_limit',
        retryAfter: 1,
      })
      const run = await live.run('coingecko')
      expect(run).toMatchObject({ status: 'succeeded', errorCode: null, loaded: COINGECKO_COINS })
      expect(live.fake.count('coingecko')).toBe(COINGECKO_PAGES + 1)
      const [limited, retried] = live.fake.requests.filter((r) => r.query.page === '2')
      expect(limited!.status).toBe(429)
      expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950)
      await expectOneRecordPerCoin(live, 'coingecko', COINGECKO_COINS)
    })

    it('429 with Retry-After as an HTTP date: waits until then, then succeeds', async () => {
      live = await startLive(dialect)
      const at = new Date(Date.now() + 2000).toUTCString()
      live.fake.fault({ source: 'coinpaprika', kind: 'rate_limit', retryAfter: at })
      const run = await live.run('coinpaprika')
      expect(run).toMatchObject({ status: 'succeeded', loaded: COINPAPRIKA_COINS })
      const [limited, retried] = live.fake.requests
      expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(900)
      expect(live.fake.count('coinpaprika')).toBe(2)
    })

    it('429 without Retry-After: backs off and succeeds', async () => {
      live = await startLive(dialect)
      live.fake.fault({ source: 'coingecko', page: 1, kind: 'rate_limit', times: 2 })
      const run = await live.run('coingecko')
      expect(run).toMatchObject({ status: 'succeeded', loaded: COINGECKO_COINS })
      expect(live.fake.count('coingecko')).toBe(COINGECKO_PAGES + 2)
    })

    it('limits spent mid-run: partial with the checkpoint kept, and the next run carries on', async () => {
      live = await startLive(dialect)
      // Retry-After beyond the 3 s budget: waiting would be pointless.
      live.fake.fault({ source: 'coingecko', page: 2, kind: 'rate_limit', retryAfter: 3600, times: Infinity })
      const first = await live.run('coingecko')
      expect(first).toMatchObject({
        status: 'partial',
        errorCode: 'SOURCE_RATE_LIMITED',
        batches: 1,
        loaded: PER_PAGE,
      })
      expect(first.errorMessage).toContain('retry budget')
      expect(live.fake.count('coingecko')).toBe(2)
      expect(JSON.parse((await findCheckpoint(live.test.db.kysely, 'coingecko', 'markets'))!)).toEqual({
        next_page: 2,
      })

      live.fake.clearFaults()
      const second = await live.run('coingecko')
      expect(second).toMatchObject({ status: 'succeeded', loaded: COINGECKO_COINS - PER_PAGE })
      expect(live.fake.requests.slice(2).map((r) => r.query.page)).toEqual(
        Array.from({ length: COINGECKO_PAGES - 1 }, (_, i) => String(i + 2)),
      )
      await expectOneRecordPerCoin(live, 'coingecko', COINGECKO_COINS)
      // The cycle is complete: the next run starts at page 1 again.
      await live.run('coingecko')
      expect(live.fake.requests.at(-COINGECKO_PAGES)!.query.page).toBe('1')
    })

    it.each([
      ['server_error', 500],
      ['unavailable', 503],
    ] as const)('%s twice: retried, then succeeds', async (kind, status) => {
      live = await startLive(dialect)
      live.fake.fault({ source: 'coinpaprika', kind, times: 2 })
      const run = await live.run('coinpaprika')
      expect(run).toMatchObject({ status: 'succeeded', loaded: COINPAPRIKA_COINS })
      expect(live.fake.requests.map((r) => r.status)).toEqual([status, status, 200])
      // Each retry is logged with the run it belongs to.
      const retries = live
        .logs()
        .split('\n')
        .filter((line) => line.includes('upstream call failed; retrying'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
      expect(retries).toEqual([
        expect.objectContaining({ run_id: run.id, source: 'coinpaprika', status, attempt: 1 }),
        expect.objectContaining({ run_id: run.id, source: 'coinpaprika', status, attempt: 2 }),
      ])
    })

    it('an outage that outlasts every retry fails the run, loses nothing, and the next run recovers', async () => {
      live = await startLive(dialect)
      live.fake.fault({ source: 'coingecko', kind: 'unavailable', times: Infinity })
      const failed = await live.run('coingecko')
      expect(failed).toMatchObject({ status: 'failed', errorCode: 'SOURCE_UNAVAILABLE', loaded: 0 })
      expect(live.fake.count('coingecko')).toBe(1 + 3)
      expect(await live.test.count('records')).toBe(0)
      live.fake.clearFaults()
      expect(await live.run('coingecko')).toMatchObject({ status: 'succeeded', loaded: COINGECKO_COINS })
      await expectOneRecordPerCoin(live, 'coingecko', COINGECKO_COINS)
    })

    it('a slow answer past the read timeout is retried', async () => {
      live = await startLive(dialect)
      live.fake.fault({ source: 'coinpaprika', kind: 'slow', delayMs: 1500 })
      const run = await live.run('coinpaprika')
      expect(run).toMatchObject({ status: 'succeeded', loaded: COINPAPRIKA_COINS })
      expect(live.fake.count('coinpaprika')).toBe(2)
    })

    it('an upstream that never answers in time fails the run with SOURCE_TIMEOUT', async () => {
      live = await startLive(dialect, { UPSTREAM_MAX_RETRIES: '1' })
      live.fake.fault({ source: 'coinpaprika', kind: 'slow', delayMs: 1500, times: Infinity })
      const run = await live.run('coinpaprika')
      expect(run).toMatchObject({ status: 'failed', errorCode: 'SOURCE_TIMEOUT', loaded: 0 })
      expect(live.fake.count('coinpaprika')).toBe(2)
    })

    it('truncated JSON is retried; it is never stored as a batch', async () => {
      live = await startLive(dialect)
      live.fake.fault({ source: 'coingecko', page: 1, kind: 'truncated' })
      const run = await live.run('coingecko')
      expect(run).toMatchObject({ status: 'succeeded', batches: COINGECKO_PAGES, loaded: COINGECKO_COINS })
      expect(live.fake.count('coingecko')).toBe(COINGECKO_PAGES + 1)
      expect(await live.test.count('rawBatches')).toBe(COINGECKO_PAGES)
    })

    it('garbage on every attempt fails the run with SOURCE_BAD_RESPONSE', async () => {
      live = await startLive(dialect)
      live.fake.fault({ source: 'coinpaprika', kind: 'garbage', times: Infinity })
      const run = await live.run('coinpaprika')
      expect(run).toMatchObject({ status: 'failed', errorCode: 'SOURCE_BAD_RESPONSE' })
      expect(live.fake.count('coinpaprika')).toBe(4)
      expect(await live.test.count('rawBatches')).toBe(0)
    })

    it('an HTML error page is read as an error and retried', async () => {
      live = await startLive(dialect, { UPSTREAM_MAX_RETRIES: '0' })
      live.fake.fault({ source: 'coingecko', kind: 'html', times: Infinity })
      const run = await live.run('coingecko')
      expect(run).toMatchObject({ status: 'failed', errorCode: 'SOURCE_UNAVAILABLE' })
      expect(run.errorMessage).toMatch(/^coingecko answered HTTP 503: HTML page: /)
      expect(live.fake.count('coingecko')).toBe(1)
    })

    it('a reset connection is retried', async () => {
      live = await startLive(dialect)
      live.fake.fault({ source: 'coinpaprika', kind: 'reset' })
      expect(await live.run('coinpaprika')).toMatchObject({ status: 'succeeded', loaded: COINPAPRIKA_COINS })
      expect(live.fake.count('coinpaprika')).toBe(2)
    })

    it.each([
      ['coingecko', 'unauthorized', 'SOURCE_AUTH_FAILED'],
      ['coinpaprika', 'unauthorized', 'SOURCE_AUTH_FAILED'],
      ['coingecko', 'payment_required', 'SOURCE_PLAN_REQUIRED'],
      ['coinpaprika', 'payment_required', 'SOURCE_PLAN_REQUIRED'],
      ['coinpaprika', 'forbidden', 'SOURCE_AUTH_FAILED'],
    ] as const)('%s %s stops the source at once with %s', async (source, kind, code) => {
      live = await startLive(dialect)
      live.fake.fault({ source, kind, times: Infinity })
      const run = await live.run(source)
      expect(run).toMatchObject({ status: 'failed', errorCode: code, batches: 0 })
      expect(live.fake.count(source)).toBe(1)
      expect(await live.test.count('records')).toBe(0)
    })
  })

  describe('schema drift', () => {
    it('records an added field and loads the batch', async () => {
      live = await startLive(dialect)
      live.fake.fault({
        source: 'coinpaprika',
        kind: 'drift',
        drift: { add: ['quotes.USD.liquidity_score', 7] },
      })
      const run = await live.run('coinpaprika')
      expect(run).toMatchObject({ status: 'succeeded', loaded: COINPAPRIKA_COINS })
      const changes = await live.test.db.kysely.selectFrom('schemaChanges').selectAll().execute()
      expect(changes).toMatchObject([
        { source: 'coinpaprika', stream: 'tickers', field: 'quotes.USD.liquidity_score', change: 'added' },
      ])
      // Seen again: not recorded twice.
      live.fake.fault({
        source: 'coinpaprika',
        kind: 'drift',
        drift: { add: ['quotes.USD.liquidity_score', 7] },
      })
      live.fake.advance(60_000)
      await live.run('coinpaprika')
      expect(await live.test.db.kysely.selectFrom('schemaChanges').selectAll().execute()).toHaveLength(1)
    })

    it('fails only the drifted batch, keeps it raw, and replays it once the schema is fixed', async () => {
      live = await startLive(dialect)
      live.fake.fault({
        source: 'coingecko',
        page: 2,
        kind: 'drift',
        drift: { rename: ['current_price', 'price_usd_current'] },
      })
      const run = await live.run('coingecko')
      expect(run).toMatchObject({
        status: 'partial',
        errorCode: 'BATCH_FAILED',
        loaded: COINGECKO_COINS - PER_PAGE,
      })
      const failed = await live.test.db.kysely
        .selectFrom('rawBatches')
        .selectAll()
        .where('status', '=', 'failed')
        .executeTakeFirstOrThrow()
      expect(failed).toMatchObject({ errorCode: 'SOURCE_SCHEMA_DRIFT', rowCount: PER_PAGE })
      expect(failed.payload).toContain('"price_usd_current"')
      const change = await live.test.db.kysely
        .selectFrom('schemaChanges')
        .selectAll()
        .executeTakeFirstOrThrow()
      expect(change).toMatchObject({ field: 'current_price', change: 'renamed', rawBatchId: failed.id })
      const detail = JSON.parse(change.detail) as { renamedTo: string; confidence: number }
      expect(detail.renamedTo).toBe('price_usd_current')
      expect(detail.confidence).toBeGreaterThanOrEqual(0.5)

      // Replaying with the old schema fails again and changes nothing.
      expect((await replayBatch(live.ctx, failed.id)).outcome).toBe('failed')
      // The fix: read the new name as the declared field (COINGECKO_FIELD_ALIASES), then replay.
      const fixed = await live.withEnv({ COINGECKO_FIELD_ALIASES: 'price_usd_current=current_price' })
      const replayed = await replayBatch(fixed, failed.id)
      expect(replayed).toMatchObject({ outcome: 'loaded', run: { loaded: PER_PAGE } })
      await expectOneRecordPerCoin(live, 'coingecko', COINGECKO_COINS)
      expect(live.fake.count('coingecko')).toBe(COINGECKO_PAGES)
    })

    it('a retyped required field fails the batch with SOURCE_SCHEMA_DRIFT', async () => {
      live = await startLive(dialect)
      live.fake.fault({
        source: 'coinpaprika',
        kind: 'drift',
        drift: { retype: ['quotes.USD.price', 'string'] },
      })
      const run = await live.run('coinpaprika')
      expect(run).toMatchObject({ status: 'partial', errorCode: 'BATCH_FAILED', loaded: 0 })
      const change = await live.test.db.kysely
        .selectFrom('schemaChanges')
        .selectAll()
        .executeTakeFirstOrThrow()
      expect(change).toMatchObject({ field: 'quotes.USD.price', change: 'retyped' })
    })
  })

  it('holds the outbound rate limit in every window, as the fake server counts it', async () => {
    live = await startLive(
      dialect,
      { COINGECKO_RATE_LIMIT: '2/300ms', COINGECKO_PER_PAGE: '5', COINGECKO_MAX_PAGES: '100' },
      // The fake counts a slightly shorter window, so scheduling jitter on this busy machine is not a failure.
      { limits: { coingecko: { points: 2, windowMs: 250 } } },
    )
    const run = await live.run('coingecko')
    const pages = Math.ceil((COINGECKO_COINS + 1) / 5)
    expect(run).toMatchObject({ status: 'succeeded', batches: pages })
    expect(live.fake.count('coingecko')).toBe(pages)
    expect(live.fake.maxInWindow('coingecko', 250)).toBeLessThanOrEqual(2)
    expect(live.fake.requests.every((r) => r.status === 200)).toBe(true)
    expect(live.logs()).toContain('waited for the outbound rate limit')
  })
})
