import type { LightMyRequestResponse } from 'fastify'
import type { Static } from 'typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RecordItem as RecordItemSchema } from '../../src/api/schemas.js'
import { csvText } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'
import {
  anyNumber,
  anyString,
  type ApiFixture,
  aRecord,
  expectProblem,
  importCsv,
  ISO_TIME,
  matching,
  postRecord,
  startApi,
} from '../helpers/api-fixture.js'

type RecordItem = Static<typeof RecordItemSchema>

interface RecordPage {
  data: RecordItem[]
  page: { limit: number; next_cursor: string | null; total?: number }
  meta: { request_id: string; api_latency_ms: number }
}

const RECORD_FIELDS = [
  'asset_id',
  'change_24h_pct',
  'circulating_supply',
  'id',
  'loaded_at',
  'market_cap_usd',
  'max_supply',
  'observed_at',
  'price_usd',
  'rank',
  'raw_batch_id',
  'run_id',
  'source',
  'symbol',
  'total_supply',
  'volume_24h_usd',
]

/** 2024-01-03T00:00:00Z and 2024-01-05T00:00:00Z as Unix seconds. */
const JAN_3_UNIX = String(Date.UTC(2024, 0, 3) / 1000)
const JAN_5_UNIX = String(Date.UTC(2024, 0, 5) / 1000)

describe.each(DIALECTS)('GET /api/v1/records on %s', (dialect) => {
  let api: ApiFixture
  beforeEach(async () => {
    api = await startApi(dialect)
  })
  afterEach(() => api.close())

  const get = (url: string, headers: Record<string, string> = {}) =>
    api.app.inject({ method: 'GET', url, headers })
  const page = async (url: string): Promise<RecordPage> => {
    const response = await get(url)
    expect(response.statusCode, response.body).toBe(200)
    return response.json<RecordPage>()
  }
  /** Record ids as the database orders them, the truth every walk is compared with. */
  const idsInOrder = async (order: 'asc' | 'desc') =>
    (
      await api.test.db.kysely
        .selectFrom('records')
        .select('id')
        .orderBy('observedAt', order)
        .orderBy('id', order)
        .execute()
    ).map((r) => r.id)
  /** Follows next_cursor from `firstUrl` to the end; `between` runs after each page. */
  const walk = async (firstUrl: string, between?: (pageNumber: number) => Promise<void>) => {
    const pages: RecordPage[] = []
    let url: string | undefined = firstUrl
    while (url !== undefined) {
      const body = await page(url)
      pages.push(body)
      if (pages.length > 100) throw new Error('pagination does not end')
      await between?.(pages.length)
      url =
        body.page.next_cursor === null
          ? undefined
          : `${firstUrl}&cursor=${encodeURIComponent(body.page.next_cursor)}`
    }
    return pages
  }

  describe('answer shape', () => {
    it('answers data, page and meta in snake_case, newest record first', async () => {
      const run = await importCsv(api.ctx, csvText(8))
      const response = await get('/api/v1/records')

      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      const body = response.json<RecordPage>()
      expect(Object.keys(body).sort()).toEqual(['data', 'meta', 'page'])
      expect(body.page).toEqual({ limit: 100, next_cursor: null })
      expect(body.meta).toEqual({ request_id: response.headers['x-request-id'], api_latency_ms: anyNumber() })
      expect(body.meta.api_latency_ms).toBeGreaterThanOrEqual(0)
      expect(body.data).toHaveLength(8)
      for (const item of body.data) expect(Object.keys(item).sort()).toEqual(RECORD_FIELDS)
      expect(body.data[0]).toEqual({
        id: anyNumber(),
        asset_id: 'ada',
        symbol: 'ADA',
        source: 'csv',
        observed_at: '2024-01-02T00:00:00.000Z',
        price_usd: 104,
        market_cap_usd: 2000,
        volume_24h_usd: null,
        change_24h_pct: null,
        rank: null,
        circulating_supply: null,
        total_supply: null,
        max_supply: null,
        run_id: run.id,
        raw_batch_id: anyNumber(),
        loaded_at: matching(ISO_TIME),
      })
      expect(body.data.map((r) => `${r.observed_at.slice(0, 10)} ${r.symbol}`)).toEqual([
        '2024-01-02 ADA',
        '2024-01-02 SOL',
        '2024-01-02 ETH',
        '2024-01-02 BTC',
        '2024-01-01 ADA',
        '2024-01-01 SOL',
        '2024-01-01 ETH',
        '2024-01-01 BTC',
      ])
    })

    it('keeps missing market values null and real zeros 0', async () => {
      await importCsv(
        api.ctx,
        'date,symbol,price_usd,market_cap_usd,volume_24h_usd\n2024-01-01,BTC,42000,N/A,\n2024-01-01,ETH,0,,0\n',
      )
      expect(
        (await postRecord(api.app, aRecord({ symbol: 'SOL', name: undefined, price_usd: 99 }))).statusCode,
      ).toBe(201)

      const { data } = await page('/api/v1/records?order=asc')
      const bySymbol = Object.fromEntries(data.map((r) => [r.symbol, r]))
      expect(bySymbol.BTC).toMatchObject({ price_usd: 42000, market_cap_usd: null, volume_24h_usd: null })
      expect(bySymbol.ETH).toMatchObject({ price_usd: 0, market_cap_usd: null, volume_24h_usd: 0 })
      expect(bySymbol.SOL).toMatchObject({
        price_usd: 99,
        market_cap_usd: null,
        volume_24h_usd: null,
        change_24h_pct: null,
        rank: null,
        circulating_supply: null,
        total_supply: null,
        max_supply: null,
        run_id: null,
      })
    })

    it('returns the oldest record first with order=asc', async () => {
      await importCsv(api.ctx, csvText(12))
      const { data } = await page('/api/v1/records?order=asc&limit=5')
      expect(data.map((r) => `${r.observed_at.slice(0, 10)} ${r.symbol}`)).toEqual([
        '2024-01-01 BTC',
        '2024-01-01 ETH',
        '2024-01-01 SOL',
        '2024-01-01 ADA',
        '2024-01-02 BTC',
      ])
    })

    it('counts every matching record with include_total and leaves total out otherwise', async () => {
      await importCsv(api.ctx, csvText(60))
      const counted = await page('/api/v1/records?symbol=btc&limit=5&include_total=true')
      expect(counted.data).toHaveLength(5)
      expect(counted.page).toMatchObject({ limit: 5, total: 15, next_cursor: anyString() })

      expect((await page('/api/v1/records?include_total=true&source=csv&from=2024-01-14')).page.total).toBe(8)
      expect((await page('/api/v1/records?include_total=true&asset=nope')).page.total).toBe(0)
      expect('total' in (await page('/api/v1/records?limit=5')).page).toBe(false)
      expect('total' in (await page('/api/v1/records?limit=5&include_total=false')).page).toBe(false)
    })
  })

  describe('filters', () => {
    beforeEach(async () => {
      await importCsv(api.ctx, csvText(60))
    })

    it('returns only the records of one asset id', async () => {
      const { data } = await page('/api/v1/records?asset=btc')
      expect(data).toHaveLength(15)
      expect(new Set(data.map((r) => r.asset_id))).toEqual(new Set(['btc']))
      expect((await page('/api/v1/records?asset=no-such-asset')).data).toEqual([])
    })

    it.each(['eth', 'ETH', 'Eth'])('matches symbol=%s case-insensitively', async (symbol) => {
      const { data } = await page(`/api/v1/records?symbol=${symbol}`)
      expect(data).toHaveLength(15)
      expect(new Set(data.map((r) => r.symbol))).toEqual(new Set(['ETH']))
      expect(new Set(data.map((r) => r.asset_id))).toEqual(new Set(['eth']))
    })

    it('returns only the records of one source', async () => {
      const posted = await postRecord(api.app, aRecord({ symbol: 'BTC', name: undefined, price_usd: 1 }))
      expect(posted.statusCode).toBe(201)

      const manual = await page('/api/v1/records?source=manual')
      expect(manual.data.map((r) => [r.source, r.id])).toEqual([['manual', posted.json<RecordItem>().id]])
      const csv = await page('/api/v1/records?source=csv&include_total=true')
      expect(csv.page.total).toBe(60)
      expect(new Set(csv.data.map((r) => r.source))).toEqual(new Set(['csv']))
      expect((await page('/api/v1/records?source=coingecko')).data).toEqual([])
    })

    it.each([
      ['ISO dates', '2024-01-03', '2024-01-05'],
      ['ISO date-times', '2024-01-03T00:00:00Z', '2024-01-05T00:00:00.000Z'],
      ['Unix seconds', JAN_3_UNIX, JAN_5_UNIX],
    ])('keeps from inclusive and to exclusive given as %s', async (_form, from, to) => {
      const { data } = await page(
        `/api/v1/records?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&order=asc`,
      )
      expect(data.map((r) => r.observed_at)).toEqual([
        ...Array<string>(4).fill('2024-01-03T00:00:00.000Z'),
        ...Array<string>(4).fill('2024-01-04T00:00:00.000Z'),
      ])
    })

    it('combines filters', async () => {
      const { data } = await page('/api/v1/records?symbol=sol&source=csv&from=2024-01-10&to=2024-01-12')
      expect(data.map((r) => `${r.observed_at.slice(0, 10)} ${r.symbol} ${r.price_usd}`)).toEqual([
        '2024-01-11 SOL 112',
        '2024-01-10 SOL 111',
      ])
    })
  })

  describe('keyset pagination', () => {
    beforeEach(async () => {
      await importCsv(api.ctx, csvText(60))
    })

    it.each(['desc', 'asc'] as const)(
      'returns every record exactly once, in %s order, when walking pages of 7',
      async (order) => {
        const pages = await walk(`/api/v1/records?limit=7&order=${order}`)

        expect(pages.map((p) => p.data.length)).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 4])
        expect(pages.every((p) => p.page.limit === 7)).toBe(true)
        expect(pages.at(-1)?.page.next_cursor).toBeNull()
        expect(pages.slice(0, -1).every((p) => typeof p.page.next_cursor === 'string')).toBe(true)
        const served = pages.flatMap((p) => p.data.map((r) => r.id))
        expect(served).toEqual(await idsInOrder(order))
        const times = pages.flatMap((p) => p.data.map((r) => r.observed_at))
        const sorted = [...times].sort()
        expect(times).toEqual(order === 'asc' ? sorted : sorted.reverse())
      },
    )

    it('ends with a null next_cursor when the last page is exactly full', async () => {
      const pages = await walk('/api/v1/records?limit=20')
      expect(pages.map((p) => [p.data.length, p.page.next_cursor === null])).toEqual([
        [20, false],
        [20, false],
        [20, true],
      ])
    })

    it.each(['desc', 'asc'] as const)(
      'serves each existing record once, in %s order, while newer and older records arrive mid-walk',
      async (order) => {
        const before = await idsInOrder(order)
        let added = 0
        const add = async (observedAt: string, symbol: string) => {
          const response = await postRecord(
            api.app,
            aRecord({ symbol, name: undefined, observed_at: observedAt, price_usd: 1 + added++ }),
          )
          expect(response.statusCode, response.body).toBe(201)
        }
        const pages = await walk(`/api/v1/records?limit=7&order=${order}`, async (pageNumber) => {
          if (pageNumber === 1 || pageNumber === 4) {
            await add(`2025-0${pageNumber}-01T00:00:00Z`, 'NEW')
            await add(`2023-0${pageNumber}-01T00:00:00Z`, 'OLD')
            await add('2024-01-08T00:00:00Z', `MID${pageNumber}`)
          }
        })

        const served = pages.flatMap((p) => p.data.map((r) => r.id))
        expect(new Set(served).size).toBe(served.length)
        const existing = new Set(before)
        expect(served.filter((id) => existing.has(id))).toEqual(before)
        expect(added).toBe(6)
      },
    )

    it('answers 400 naming cursor when a desc cursor is used with order=asc', async () => {
      const first = await page('/api/v1/records?limit=7')
      const cursor = first.page.next_cursor!
      expect(cursor).toEqual(anyString())

      const response = await get(`/api/v1/records?limit=7&order=asc&cursor=${encodeURIComponent(cursor)}`)
      expectProblem(response, 400, 'cursor')
    })

    it.each([
      ['text that is not base64 JSON', 'not-a-cursor!!'],
      ['base64 of something else', Buffer.from('hello').toString('base64url')],
      ['a cursor of the wrong shape', Buffer.from(JSON.stringify(['desc', 42])).toString('base64url')],
      [
        'a forged position whose time is not a time',
        Buffer.from(JSON.stringify(['desc', 'garbage', 5])).toString('base64url'),
      ],
      [
        'a forged position whose id is not an integer',
        Buffer.from(JSON.stringify(['desc', '2024-01-05T00:00:00.000Z', 1.5])).toString('base64url'),
      ],
    ])('answers 400 naming cursor for %s', async (_what, cursor) => {
      const response = await get(`/api/v1/records?cursor=${encodeURIComponent(cursor)}`)
      expectProblem(response, 400, 'cursor')
    })
  })

  describe('query validation', () => {
    it.each([
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=2.5', 'limit'],
      ['source=nope', 'source'],
      ['order=sideways', 'order'],
      ['include_total=maybe', 'include_total'],
      ['from=yesterday', 'from'],
      ['to=2024-13-45', 'to'],
      ['from=2024-02-30', 'from'],
      ['colour=blue', 'colour'],
    ])('answers 400 problem naming the parameter for %s', async (query, field) => {
      const response = await get(`/api/v1/records?${query}`)
      const problem = expectProblem(response, 400, field)
      expect(problem.errors!.every((e) => typeof e.in === 'string')).toBe(true)
    })

    it('names every bad parameter of one request', async () => {
      const problem = expectProblem(await get('/api/v1/records?limit=0&source=nope'), 400)
      expect(problem.errors!.map((e) => e.field).sort()).toEqual(['limit', 'source'])
    })

    it.each(['limit=1', 'limit=1000'])('accepts the boundary %s', async (query) => {
      await importCsv(api.ctx, csvText(3))
      const body = await page(`/api/v1/records?${query}`)
      expect(body.page.limit).toBe(Number(query.split('=')[1]))
      expect(body.data).toHaveLength(Math.min(3, body.page.limit))
    })
  })

  describe('GET /data', () => {
    const withoutLatency = (response: LightMyRequestResponse) => {
      const body = response.json<Partial<RecordPage>>()
      return { ...body, meta: body.meta && { ...body.meta, api_latency_ms: 0 } }
    }

    it('answers exactly like GET /api/v1/records for the same query', async () => {
      await importCsv(api.ctx, csvText(20))
      const first = await page('/api/v1/records?limit=3&order=asc')
      const queries = [
        '',
        '?symbol=btc&limit=3',
        '?order=asc&limit=4&include_total=true&from=2024-01-02',
        `?limit=3&order=asc&cursor=${encodeURIComponent(first.page.next_cursor!)}`,
        '?limit=0',
        '?colour=blue',
      ]
      for (const query of queries) {
        const headers = { 'x-request-id': 'same-request-id' }
        const expected = await get(`/api/v1/records${query}`, headers)
        const actual = await get(`/data${query}`, headers)
        expect(actual.statusCode, query).toBe(expected.statusCode)
        expect(actual.headers['content-type'], query).toBe(expected.headers['content-type'])
        expect(withoutLatency(actual), query).toEqual(withoutLatency(expected))
      }
    })
  })
})
