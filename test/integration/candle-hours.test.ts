import fc from 'fast-check'
import { sql } from 'kysely'
import { pino } from 'pino'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { markCandleHoursStale } from '../../src/db/repositories/candle-marks-repository.js'
import {
  rebuildCandleHours,
  refreshAllCandleHours,
  refreshCandleHours,
} from '../../src/db/repositories/candle-hours-repository.js'
import { consensusHourJson, sourceCandles } from '../../src/db/repositories/candle-repository.js'
import { candleItem, consensusCandles, type Candle, type CandleItem } from '../../src/domain/candles.js'
import { keepCandleRollup } from '../../src/jobs/candle-rollup.js'
import { CANDLE_BUCKETS, type CandleInterval } from '../../src/domain/candle-buckets.js'
import type { NewRecord } from '../../src/domain/record.js'
import { at, CANDLE_FIXTURE, marketRecord, writeMarketRecords } from '../helpers/candle-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const s = (iso: string) => Date.parse(iso) / 1000

describe.each(DIALECTS)('the candles hourly rollup on %s', (dialect) => {
  let test: TestDatabase

  beforeAll(async () => {
    test = await createTestDatabase(dialect)
    await test.db.kysely
      .insertInto('assets')
      .values(['bitcoin', 'ether'].map((id) => ({ id, symbol: id, name: id, createdAt: at('00:00') })))
      .execute()
  })
  afterAll(() => test.destroy())
  beforeEach(async () => {
    for (const table of ['records', 'candle_hours', 'candle_consensus', 'candle_stale', 'candle_pending'])
      await sql`DELETE FROM ${sql.table(table)}`.execute(test.db.kysely)
  })

  /** Every asset's and source's marked hours: the refresher's, with the writes' pending ones folded in. */
  const marks = async () => {
    const merged = new Map<string, { assetId: string; source: string; fromS: number; toS: number }>()
    const add = (assetId: string, source: string, fromS: number, toS: number) => {
      const seen = merged.get(`${assetId} ${source}`)
      merged.set(`${assetId} ${source}`, {
        assetId,
        source,
        fromS: Math.min(seen?.fromS ?? fromS, fromS),
        toS: Math.max(seen?.toS ?? toS, toS),
      })
    }
    for (const r of await test.db.kysely.selectFrom('candleStale').selectAll().execute())
      add(r.assetId, r.source, Number(r.fromS), Number(r.toS))
    for (const r of await test.db.kysely.selectFrom('candlePending').selectAll().execute())
      for (const assetId of JSON.parse(r.assetIds) as string[])
        add(assetId, r.source, Number(r.fromS), Number(r.toS))
    const key = (m: { assetId: string; source: string }) => `${m.assetId} ${m.source}`
    return [...merged.values()].sort((a, b) => (key(a) < key(b) ? -1 : 1))
  }
  const pendingRows = () => test.count('candlePending')
  const daily = (source?: string) =>
    sourceCandles(test.db, {
      assetId: 'bitcoin',
      interval: '1d',
      from: at('00:00'),
      to: at('00:00', '2026-11-26'),
      source,
    })
  const lastDayOf = async (source: string) => (await daily(source)).get(source)?.at(-1)

  it('marks the hours each write touched, per asset and source, in the same transaction', async () => {
    await writeMarketRecords(
      test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
    await writeMarketRecords(test.db, [marketRecord('ether', ['coingecko', at('08:30'), 5, null, null])])
    expect(await marks()).toEqual([
      { assetId: 'bitcoin', source: 'coingecko', fromS: s(at('09:00', '2026-11-23')), toS: s(at('13:00')) },
      { assetId: 'bitcoin', source: 'coinpaprika', fromS: s(at('10:00')), toS: s(at('14:00')) },
      { assetId: 'ether', source: 'coingecko', fromS: s(at('08:00')), toS: s(at('09:00')) },
    ])
    // A write that stores nothing new (the same records again) widens nothing.
    await refreshAllCandleHours(test.db)
    await writeMarketRecords(
      test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
    expect(await marks()).toEqual([])
  })

  it('appends a row per source and range of hours, which the refresher folds into one mark per asset, never narrowed', async () => {
    const mark = (assetId: string, fromS: number, toS: number) => ({ assetId, source: 'csv', fromS, toS })
    const stale = (...m: Parameters<typeof markCandleHoursStale>[1][]) =>
      test.db.kysely.transaction().execute(async (trx) => {
        for (const marks of m) await markCandleHoursStale(trx, marks)
      })
    // A snapshot run's assets share an hour: one row. More marks than one SQLite statement binds.
    await stale(Array.from({ length: 2_500 }, (_, i) => mark(`asset-${(i * 7919) % 2_500}`, 7_200, 10_800)))
    await stale([mark('asset-1', 3_600, 7_200), mark('asset-2', 0, 18_000), mark('asset-3', 9_000, 9_600)])
    expect(await pendingRows()).toBe(4)
    // `limit: 0`: the fold alone, no mark refreshed.
    expect(await refreshCandleHours(test.db, { limit: 0 })).toBe(0)
    expect(await pendingRows()).toBe(0)
    const folded = await test.db.kysely.selectFrom('candleStale').selectAll().orderBy('assetId').execute()
    expect(folded).toHaveLength(2_500)
    const some = (rows: { assetId: string; source: string; fromS: number; toS: number }[]) =>
      rows
        .filter((m) => ['asset-1', 'asset-2', 'asset-3'].includes(m.assetId))
        .map((m) => ({ ...m, fromS: Number(m.fromS), toS: Number(m.toS) }))
    expect(some(folded)).toEqual([
      mark('asset-1', 3_600, 10_800),
      mark('asset-2', 0, 18_000),
      mark('asset-3', 7_200, 10_800),
    ])
    // A later fold widens the marks already there, and never narrows one.
    await stale([mark('asset-1', 0, 3_600)], [mark('asset-3', 9_000, 9_600)])
    await refreshCandleHours(test.db, { limit: 0 })
    expect(
      some(await test.db.kysely.selectFrom('candleStale').selectAll().orderBy('assetId').execute()),
    ).toEqual([mark('asset-1', 0, 10_800), mark('asset-2', 0, 18_000), mark('asset-3', 7_200, 10_800)])
  })

  it('refreshes hours from the records, reads them from the rollup, and takes stale hours from the records', async () => {
    await writeMarketRecords(
      test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
    const fromRecords = await daily()
    expect(await refreshAllCandleHours(test.db)).toBe(2)
    expect(await marks()).toEqual([])
    const hours = await test.db.kysely
      .selectFrom('candleHours')
      .select(['source', 'hourS', 'open', 'close', 'points'])
      .where('assetId', '=', 'bitcoin')
      .orderBy('source')
      .orderBy('hourS')
      .execute()
    expect(hours.map((h) => ({ ...h, hourS: Number(h.hourS) }))).toEqual([
      { source: 'coingecko', hourS: s(at('09:00', '2026-11-23')), open: 80, close: 80, points: 1 },
      { source: 'coingecko', hourS: s(at('10:00')), open: 100, close: 90, points: 3 },
      { source: 'coingecko', hourS: s(at('12:00')), open: 120, close: 120, points: 1 },
      { source: 'coinpaprika', hourS: s(at('10:00')), open: 102, close: 104, points: 2 },
      { source: 'coinpaprika', hourS: s(at('13:00')), open: 130, close: 130, points: 1 },
    ])
    expect(await daily()).toEqual(fromRecords)

    // The read really comes from the rollup: an hour changed there shows…
    await sql`UPDATE candle_hours SET high = 999 WHERE source = 'coingecko' AND hour_s = ${s(at('12:00'))}`.execute(
      test.db.kysely,
    )
    expect((await lastDayOf('coingecko'))?.high).toBe(999)
    // …until a write into that day marks it stale: then the day comes from the records, new one included.
    await writeMarketRecords(test.db, [marketRecord('bitcoin', ['coingecko', at('12:40'), 125, 1250, 61])])
    const stale = await lastDayOf('coingecko')
    expect(stale).toMatchObject({ high: 125, close: 125, points: 5 })
    await refreshAllCandleHours(test.db)
    expect(await lastDayOf('coingecko')).toEqual(stale)
  })

  it('reads the hourly consensus from the rollup, and from the sources where any of them is stale', async () => {
    await writeMarketRecords(
      test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
    const hours = { assetId: 'bitcoin', from: at('00:00'), to: at('14:00') }
    const consensusHours = async () => JSON.parse(await consensusHourJson(test.db, hours)) as CandleItem[]
    const fromSources = await consensusHours()
    expect(fromSources.map((c) => [c.bucket, c.open, c.sources])).toEqual([
      [at('10:00'), 101, ['coingecko', 'coinpaprika']],
      [at('12:00'), 120, ['coingecko']],
      [at('13:00'), 130, ['coinpaprika']],
    ])
    await refreshAllCandleHours(test.db)
    expect(await consensusHours()).toEqual(fromSources)
    await sql`UPDATE candle_consensus SET item = REPLACE(item, '"open":', '"open":999,"was":')`.execute(
      test.db.kysely,
    )
    expect((await consensusHours()).map((c) => c.open)).toEqual([999, 999, 999])
    // A new CoinPaprika hour marks only that source stale: that hour's consensus comes from both
    // sources again, the others stay the rollup's.
    await writeMarketRecords(test.db, [
      marketRecord('bitcoin', ['coinpaprika', at('12:30'), 110, null, null]),
    ])
    expect((await consensusHours()).map((c) => [c.open, c.sources])).toEqual([
      [999, ['coingecko', 'coinpaprika']],
      [115, ['coingecko', 'coinpaprika']],
      [999, ['coinpaprika']],
    ])
  })

  it('refreshes a bounded number of marks at a time, and one refresher at a time', async () => {
    await writeMarketRecords(
      test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
    expect(await refreshCandleHours(test.db, { limit: 1 })).toBe(1)
    expect(await marks()).toHaveLength(1)
    const aborted = new AbortController()
    aborted.abort()
    expect(await refreshCandleHours(test.db, { signal: aborted.signal })).toBe(0)
    if (dialect === 'postgres') {
      // Another refresher holds the lock: this one leaves the marks to it.
      const held = await test.db.kysely.connection().execute(async (other) => {
        await sql`SELECT pg_advisory_lock(${0x63616e64})`.execute(other)
        try {
          return await refreshCandleHours(test.db)
        } finally {
          await sql`SELECT pg_advisory_unlock(${0x63616e64})`.execute(other)
        }
      })
      expect(held).toBe(0)
    }
    expect(await refreshCandleHours(test.db)).toBe(1)
  })

  it('rebuilds from records written around coinpipe, which left no marks', async () => {
    await writeMarketRecords(
      test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
    const fromRecords = await daily()
    await refreshAllCandleHours(test.db)
    await sql`DELETE FROM candle_hours`.execute(test.db.kysely)
    expect(await daily()).toEqual(new Map())
    expect(await rebuildCandleHours(test.db)).toBe(2)
    expect(await marks()).toEqual([])
    expect(await daily()).toEqual(fromRecords)
  })

  it('is kept up to date in the background by serve, from its start', async () => {
    await writeMarketRecords(
      test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
    const keeper = keepCandleRollup(test.db, pino({ level: 'silent' }))
    try {
      await waitFor(async () => (await marks()).length === 0, { what: 'the first refresh' })
    } finally {
      await keeper.stop()
    }
    const rolled = await test.db.kysely.selectFrom('candleHours').select('hourS').execute()
    expect(rolled).toHaveLength(5)
  })

  it('answers what the records say, whatever writes and refreshes came in between', async () => {
    const T0 = s(at('00:00', '2026-11-20'))
    // Two sources over ten days, several observations an hour at most: buckets of every interval see
    // hours from the rollup, stale hours, and both.
    const observation = fc.record({
      source: fc.constantFrom('coingecko', 'coinpaprika'),
      minute: fc.integer({ min: 0, max: 10 * 24 * 60 - 1 }),
      price: fc.option(fc.integer({ min: 1, max: 1000 }), { freq: 8 }),
      cap: fc.option(fc.integer({ min: 1, max: 10_000 }), { freq: 2 }),
    })
    const step = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.array(observation, { minLength: 1, maxLength: 25 }).map((o) => ({ write: o })),
      },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((limit) => ({ refresh: limit })) },
    )
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 6 }), async (steps) => {
        for (const table of ['records', 'candle_hours', 'candle_consensus', 'candle_stale', 'candle_pending'])
          await sql`DELETE FROM ${sql.table(table)}`.execute(test.db.kysely)
        const stored = new Map<string, NewRecord>()
        for (const st of steps) {
          if ('refresh' in st) {
            await refreshCandleHours(test.db, { limit: st.refresh })
            continue
          }
          const batch = new Map<string, NewRecord>()
          for (const o of st.write) {
            const observedAt = new Date((T0 + o.minute * 60) * 1000).toISOString()
            const record = marketRecord('bitcoin', [o.source, observedAt, o.price, o.cap, null])
            batch.set(`${o.source} ${observedAt}`, record)
          }
          await writeMarketRecords(test.db, [...batch.values()])
          // The first write of a key stays.
          for (const [key, record] of batch) if (!stored.has(key)) stored.set(key, record)
        }
        for (const interval of ['1h', '1d', '1w'] as const) {
          const query = {
            assetId: 'bitcoin',
            interval,
            from: new Date((T0 - 7 * 86_400) * 1000).toISOString(),
            to: new Date((T0 + 14 * 86_400) * 1000).toISOString(),
          }
          expect(Object.fromEntries(await sourceCandles(test.db, query))).toEqual(
            expectedCandles([...stored.values()], interval),
          )
          if (interval === '1h')
            expect(JSON.parse(await consensusHourJson(test.db, query)) as CandleItem[]).toEqual(
              consensusCandles(new Map(Object.entries(expectedCandles([...stored.values()], '1h')))).map(
                (c) => candleItem(c, undefined),
              ),
            )
        }
      }),
      { numRuns: dialect === 'postgres' ? 25 : 40 },
    )
  })

  /** The candles the records make, computed here from the records alone. */
  function expectedCandles(records: NewRecord[], interval: CandleInterval): Record<string, Candle[]> {
    const { widthS, offsetS } = CANDLE_BUCKETS[interval]
    const priced = records
      .filter((r) => r.priceUsd !== null)
      .sort((a, b) => a.source.localeCompare(b.source) || a.observedAt.localeCompare(b.observedAt))
    const out: Record<string, Candle[]> = {}
    for (const r of priced) {
      const bucketS = Math.floor((s(r.observedAt) - offsetS) / widthS) * widthS + offsetS
      const bucket = new Date(bucketS * 1000).toISOString()
      const candles = (out[r.source] ??= [])
      const last = candles.at(-1)
      const price = r.priceUsd!
      if (last?.bucket === bucket)
        candles[candles.length - 1] = {
          ...last,
          high: Math.max(last.high, price),
          low: Math.min(last.low, price),
          close: price,
          marketCapUsd: r.marketCapUsd,
          volume24hUsd: r.volume24hUsd,
          points: last.points + 1,
        }
      else
        candles.push({
          bucket,
          open: price,
          high: price,
          low: price,
          close: price,
          marketCapUsd: r.marketCapUsd,
          volume24hUsd: r.volume24hUsd,
          points: 1,
        })
    }
    return out
  }
})
