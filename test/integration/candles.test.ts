import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sourceCandles } from '../../src/db/repositories/candle-repository.js'
import { consensusCandles, type Candle } from '../../src/domain/candles.js'
import { at, CANDLE_FIXTURE, marketRecord, writeMarketRecords } from '../helpers/candle-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

const candle = (bucket: string, ohlc: number[], marketCapUsd: number | null, volume24hUsd: number | null, points: number): Candle => {
  const [open, high, low, close] = ohlc as [number, number, number, number]
  return { bucket, open, high, low, close, marketCapUsd, volume24hUsd, points }
} // prettier-ignore

describe.each(DIALECTS)('candles on %s', (dialect) => {
  let test: TestDatabase

  beforeAll(async () => {
    test = await createTestDatabase(dialect)
    const { kysely } = test.db
    await kysely
      .insertInto('assets')
      .values({ id: 'bitcoin', symbol: 'BTC', name: 'Bitcoin', createdAt: at('00:00') })
      .execute()
    await writeMarketRecords(
      test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
  })
  afterAll(() => test.destroy())

  const hourly = (source?: string) =>
    sourceCandles(test.db, { assetId: 'bitcoin', interval: '1h', from: at('00:00'), to: at('13:00'), source })

  it('opens with the first price of a bucket, closes with the last, and keeps the last market cap and volume', async () => {
    const bySource = await hourly()
    expect(Object.fromEntries(bySource)).toEqual({
      coingecko: [
        candle(at('10:00'), [100, 110, 90, 90], 900, 40, 3),
        candle(at('12:00'), [120, 120, 120, 120], 1200, 60, 1),
      ],
      coinpaprika: [candle(at('10:00'), [102, 104, 102, 104], 1040, 45, 2)],
    })
    expect([...(await hourly('coinpaprika')).keys()]).toEqual(['coinpaprika'])
  })

  it('takes the consensus as the median across the sources of each bucket, and names them', async () => {
    expect(consensusCandles(await hourly())).toEqual([
      { ...candle(at('10:00'), [101, 107, 96, 97], 970, 42.5, 5), sources: ['coingecko', 'coinpaprika'] },
      { ...candle(at('12:00'), [120, 120, 120, 120], 1200, 60, 1), sources: ['coingecko'] },
    ])
  })

  it('buckets by 5 minutes, by UTC day, and by ISO week starting on Monday', async () => {
    const query = {
      assetId: 'bitcoin',
      from: at('00:00', '2026-11-01'),
      to: at('13:00'),
      source: 'coingecko',
    }
    const five = (await sourceCandles(test.db, { ...query, interval: '5m' })).get('coingecko')!
    expect(five.map((c) => c.bucket)).toEqual([
      at('09:00', '2026-11-23'),
      at('10:05'),
      at('10:20'),
      at('10:50'),
      at('12:10'),
    ])
    const daily = (await sourceCandles(test.db, { ...query, interval: '1d' })).get('coingecko')!
    expect(daily).toEqual([
      candle(at('00:00', '2026-11-23'), [80, 80, 80, 80], 800, 30, 1),
      candle(at('00:00'), [100, 120, 90, 120], 1200, 60, 4),
    ])
    const weekly = (await sourceCandles(test.db, { ...query, interval: '1w' })).get('coingecko')!
    expect(weekly).toEqual([candle(at('00:00', '2026-11-23'), [80, 120, 80, 120], 1200, 60, 5)])
  })
})
