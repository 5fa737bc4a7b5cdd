import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ApiFixture, expectProblem, startApi } from '../helpers/api-fixture.js'
import { parse } from 'csv-parse/sync'
import type { CandleItem } from '../../src/api/candle-rows.js'
import { refreshAllCandleHours } from '../../src/db/repositories/candle-hours-repository.js'
import { at, CANDLE_FIXTURE, marketRecord, writeMarketRecords } from '../helpers/candle-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

interface CandleAnswer {
  data: CandleItem[]
  meta: {
    request_id: string
    api_latency_ms: number
    asset_id: string
    interval: string
    from: string
    to: string
    source: string | null
  }
}

/** Our clock: half an hour after the last observation. */
const NOW = at('13:30')

const candle = (bucket: string, ohlc: number[], cap: number | null, volume: number | null, points: number, sources: string[]): CandleItem => {
  const [open, high, low, close] = ohlc as [number, number, number, number]
  return { bucket, open, high, low, close, market_cap_usd: cap, volume_24h_usd: volume, points, sources }
} // prettier-ignore

/** A CSV row of the candles answer as its JSON item: empty is null, sources a JSON array. */
function candleFromCsv([bucket, ...fields]: string[]): CandleItem {
  const n = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value))
  const [open, high, low, close, cap, volume, points, sources] = fields
  return {
    bucket: bucket!,
    open: n(open),
    high: n(high),
    low: n(low),
    close: n(close),
    market_cap_usd: n(cap),
    volume_24h_usd: n(volume),
    points: Number(points),
    sources: JSON.parse(sources!) as string[],
  }
}

const empty = (bucket: string): CandleItem => ({
  bucket,
  open: null,
  high: null,
  low: null,
  close: null,
  market_cap_usd: null,
  volume_24h_usd: null,
  points: 0,
  sources: [],
})

// Every case twice: before the rollup's first refresh (every hour marked stale: read from the
// records) and after it (read from the hourly rollup and its consensus).
const CASES = DIALECTS.flatMap((dialect) => [
  [dialect, 'from the records'] as const,
  [dialect, 'from the rollup'] as const,
])

describe.each(CASES)('GET /api/v1/assets/{id}/candles on %s, %s', (dialect, read) => {
  let api: ApiFixture
  beforeAll(async () => {
    api = await startApi(dialect, {}, { now: () => new Date(NOW) })
    const { kysely } = api.test.db
    await kysely
      .insertInto('assets')
      .values([
        { id: 'bitcoin', symbol: 'BTC', name: 'Bitcoin', createdAt: at('00:00') },
        { id: 'quiet', symbol: 'QT', name: 'Quiet', createdAt: at('00:00') },
      ])
      .execute()
    await writeMarketRecords(
      api.test.db,
      CANDLE_FIXTURE.map((row) => marketRecord('bitcoin', row)),
    )
    if (read === 'from the rollup') expect(await refreshAllCandleHours(api.test.db)).toBe(2)
  })
  afterAll(() => api.close())

  const get = (query: string, id = 'bitcoin') =>
    api.app.inject({ method: 'GET', url: `/api/v1/assets/${id}/candles?${query}` })
  const candles = async (query: string, id = 'bitcoin'): Promise<CandleAnswer> => {
    const response = await get(query, id)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    return response.json<CandleAnswer>()
  }
  const range = (from: string, to: string) => `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`

  it('answers the consensus: per bucket the median of each value across sources, and who observed it', async () => {
    const answer = await candles(`interval=1h&${range(at('00:00'), at('13:00'))}`)
    expect(answer.data).toEqual([
      candle(at('10:00'), [101, 107, 96, 97], 970, 42.5, 5, ['coingecko', 'coinpaprika']),
      candle(at('12:00'), [120, 120, 120, 120], 1200, 60, 1, ['coingecko']),
    ])
    expect(answer.meta).toEqual({
      request_id: expect.any(String) as string,
      api_latency_ms: expect.any(Number) as number,
      asset_id: 'bitcoin',
      interval: '1h',
      from: at('00:00'),
      to: at('13:00'),
      source: null,
    })
  })

  it("answers one source's candles: first and last price, extremes, and the last market cap and volume", async () => {
    const coingecko = await candles(`interval=1h&source=coingecko&${range(at('00:00'), at('13:00'))}`)
    expect(coingecko.data).toEqual([
      candle(at('10:00'), [100, 110, 90, 90], 900, 40, 3, ['coingecko']),
      candle(at('12:00'), [120, 120, 120, 120], 1200, 60, 1, ['coingecko']),
    ])
    expect(coingecko.meta.source).toBe('coingecko')
    const paprika = await candles(`interval=1h&source=coinpaprika&${range(at('00:00'), at('13:00'))}`)
    expect(paprika.data).toEqual([candle(at('10:00'), [102, 104, 102, 104], 1040, 45, 2, ['coinpaprika'])])
    expect((await candles(`source=csv&${range(at('00:00'), at('13:00'))}`)).data).toEqual([])
  })

  it('leaves a bucket without observations out, and lists it with nulls under fill=null', async () => {
    const query = `interval=1h&${range(at('09:00'), at('13:00'))}`
    expect((await candles(query)).data.map((c) => c.bucket)).toEqual([at('10:00'), at('12:00')])
    expect((await candles(`${query}&fill=null`)).data).toEqual([
      empty(at('09:00')),
      candle(at('10:00'), [101, 107, 96, 97], 970, 42.5, 5, ['coingecko', 'coinpaprika']),
      empty(at('11:00')),
      candle(at('12:00'), [120, 120, 120, 120], 1200, 60, 1, ['coingecko']),
    ])
    const quiet = await candles(`fill=null&interval=1h&${range(at('00:00'), at('13:00'))}`, 'quiet')
    expect(quiet.data).toHaveLength(13)
    expect(quiet.data.every((c) => c.points === 0 && c.close === null)).toBe(true)
  })

  it('buckets by 5 minutes, UTC hours and days, and ISO weeks starting on Monday', async () => {
    const query = `source=coingecko&${range(at('00:00', '2026-11-01'), at('13:00'))}`
    const buckets = async (interval: string) =>
      (await candles(`interval=${interval}&${query}`)).data.map((c) => c.bucket)
    const monday = at('09:00', '2026-11-23')
    expect(await buckets('5m')).toEqual([monday, at('10:05'), at('10:20'), at('10:50'), at('12:10')])
    expect(await buckets('1h')).toEqual([monday, at('10:00'), at('12:00')])
    expect((await candles(`interval=1d&${query}`)).data).toEqual([
      candle(at('00:00', '2026-11-23'), [80, 80, 80, 80], 800, 30, 1, ['coingecko']),
      candle(at('00:00'), [100, 120, 90, 120], 1200, 60, 4, ['coingecko']),
    ])
    expect((await candles(`interval=1w&${query}`)).data).toEqual([
      candle(at('00:00', '2026-11-23'), [80, 120, 80, 120], 1200, 60, 5, ['coingecko']),
    ])
  })

  it('lists the buckets that start in [from, to): from inclusive, to exclusive', async () => {
    const paprika = async (from: string, to: string) =>
      (await candles(`interval=5m&source=coinpaprika&${range(from, to)}`)).data.map((c) => c.bucket)
    expect(await paprika(at('10:10'), at('10:40'))).toEqual([at('10:10')])
    expect(await paprika(at('10:10'), '2026-11-25T10:40:00.001Z')).toEqual([at('10:10'), at('10:40')])
    expect(await paprika('2026-11-25T10:10:00.001Z', at('13:00'))).toEqual([at('10:40')])
    expect(await paprika(at('10:40'), at('13:00'))).toEqual([at('10:40')])
    // A bucket that starts in range is whole: a day listed from 00:00 to 00:01 holds all of its observations.
    const daily = await candles(`interval=1d&source=coinpaprika&${range(at('00:00'), at('00:01'))}`)
    expect(daily.data).toEqual([candle(at('00:00'), [102, 130, 102, 130], 1300, 70, 3, ['coinpaprika'])])
  })

  it('defaults to hourly candles of the 30 days before now', async () => {
    const answer = await candles('')
    expect(answer.meta).toMatchObject({ interval: '1h', from: '2026-10-26T13:30:00.000Z', to: NOW })
    expect(answer.data.map((c) => c.bucket)).toEqual([
      at('09:00', '2026-11-23'),
      at('10:00'),
      at('12:00'),
      at('13:00'),
    ])
    const week = await candles(`interval=5m&to=${encodeURIComponent(at('11:00'))}`)
    expect(week.meta).toMatchObject({ from: at('11:00', '2026-11-24'), to: at('11:00') })
  })

  it.each([
    ['interval=2h', 'interval'],
    ['interval=', 'interval'],
    ['fill=zero', 'fill'],
    ['source=binance', 'source'],
    ['from=yesterday', 'from'],
    [`to=${encodeURIComponent('2026-02-30')}`, 'to'],
    [range(at('10:00'), at('10:00')), 'to'],
    [range(at('11:00'), at('10:00')), 'to'],
    [`from=${encodeURIComponent(at('14:00'))}`, 'from'],
    [`interval=5m&${range('2026-01-01', '2026-11-01')}`, 'from'],
    ['limit=10', 'limit'],
  ])('answers 400 naming the field for %s', async (query, field) => {
    expectProblem(await get(query), 400, field)
  })

  it('answers up to 50,000 buckets at once, and refuses one more', async () => {
    const from = Date.parse(at('00:00', '2026-01-01'))
    const to = (buckets: number) => new Date(from + buckets * 300_000).toISOString()
    const full = await candles(`interval=5m&fill=null&${range(at('00:00', '2026-01-01'), to(50_000))}`)
    expect(full.data).toHaveLength(50_000)
    expectProblem(await get(`interval=5m&${range(at('00:00', '2026-01-01'), to(50_001))}`), 400, 'from')
  })

  it('answers text/csv parsed back equal to the JSON answer, per source and of the consensus, gaps included', async () => {
    for (const query of [
      `interval=1h&${range(at('00:00'), at('14:00'))}`,
      `interval=1h&fill=null&${range(at('00:00'), at('14:00'))}`,
      `interval=5m&source=coingecko&${range(at('10:00'), at('13:00'))}`,
      `interval=1w&source=coinpaprika&${range(at('00:00', '2026-11-01'), at('00:00', '2026-12-01'))}`,
    ]) {
      const json = (await candles(query)).data
      for (const ask of [{ url: `format=csv&${query}` }, { url: query, accept: 'text/csv' }]) {
        const response = await api.app.inject({
          method: 'GET',
          url: `/api/v1/assets/bitcoin/candles?${ask.url}`,
          headers: ask.accept ? { accept: ask.accept } : {},
        })
        expect(response.statusCode, response.body).toBe(200)
        expect(response.headers['content-type']).toMatch(/^text\/csv/)
        const lines: string[][] = parse(response.body)
        const [header, ...rows] = lines
        expect(header).toEqual(Object.keys(empty('')))
        expect(rows.map(candleFromCsv), query).toEqual(json)
      }
    }
  })

  it('streams a CSV past the JSON answer’s bucket cap, a page at a time', async () => {
    const from = at('00:00', '2026-01-01')
    const to = new Date(Date.parse(from) + 60_001 * 300_000).toISOString()
    const response = await get(`interval=5m&fill=null&format=csv&${range(from, to)}`)
    expect(response.statusCode, response.body).toBe(200)
    const lines: string[][] = parse(response.body)
    const items = lines.slice(1).map(candleFromCsv)
    expect(items).toHaveLength(60_001)
    expect(items[50_000]).toMatchObject({
      bucket: new Date(Date.parse(from) + 50_000 * 300_000).toISOString(),
    })
    expect(new Set(items.map((i) => i.bucket)).size).toBe(60_001)
    expectProblem(await get(`interval=5m&format=csv&${range(from, to)}`, 'no-such-asset'), 404)
    expectProblem(await get(`interval=1h&format=xml`), 400, 'format')
  })

  it('answers 404 for an asset that does not exist', async () => {
    const problem = expectProblem(await get('interval=1h', 'no-such-asset'), 404)
    expect(problem.code).toBe('ASSET_NOT_FOUND')
  })

  it('is in the OpenAPI document, with its parameters', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, { get?: { tags?: string[]; parameters?: { name: string; in: string }[] } }>
    }>()
    const operation = document.paths['/api/v1/assets/{id}/candles']?.get
    expect(operation?.tags).toEqual(['assets'])
    expect(operation?.parameters?.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
      'path:id',
      'query:fill',
      'query:format',
      'query:from',
      'query:interval',
      'query:source',
      'query:to',
    ])
  })
})
