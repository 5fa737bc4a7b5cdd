import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DIALECTS } from '../helpers/test-database.js'
import {
  anyNumber,
  API_KEY,
  type ApiFixture,
  aRecord,
  expectProblem,
  importCsv,
  postRecord,
  startApi,
} from '../helpers/api-fixture.js'

interface StoredRecord {
  id: number
  asset_id: string
  symbol: string
  source: string
  observed_at: string
  price_usd: number | null
  market_cap_usd: number | null
  rank: number | null
  run_id: number | null
}

describe.each(DIALECTS)('POST /api/v1/records on %s', (dialect) => {
  let api: ApiFixture
  beforeEach(async () => {
    api = await startApi(dialect)
  })
  afterEach(() => api.close())

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    api.app.inject({ method: 'POST', url: '/api/v1/records', headers, payload: body as object })
  const recordCount = async () =>
    Number(
      (
        await api.test.db.kysely
          .selectFrom('records')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    )

  describe('write keys', () => {
    it('answers 401 problem without a key and stores nothing', async () => {
      const problem = expectProblem(await post(aRecord()), 401)
      expect(problem.detail).toMatch(/Authorization: Bearer|X-API-Key/)
      expect(await recordCount()).toBe(0)
    })

    it.each([
      ['a wrong bearer key', { authorization: 'Bearer k-not-the-right-key-at-all' }],
      ['a wrong X-API-Key', { 'x-api-key': 'k-not-the-right-key-at-all' }],
      ['the right key under another scheme', { authorization: `Basic ${API_KEY}` }],
      ['a prefix of the right key', { 'x-api-key': API_KEY.slice(0, -1) }],
    ])('answers 401 problem for %s', async (_what, headers) => {
      const problem = expectProblem(await post(aRecord(), headers), 401)
      expect(problem.detail).not.toContain(API_KEY)
      expect(await recordCount()).toBe(0)
    })

    it.each([
      ['Authorization: Bearer', { authorization: `Bearer ${API_KEY}` }],
      ['X-API-Key', { 'x-api-key': API_KEY }],
    ])('accepts the key as %s', async (_how, headers) => {
      const response = await post(aRecord(), headers)
      expect(response.statusCode, response.body).toBe(201)
      expect(await recordCount()).toBe(1)
    })

    it('says how to set API_KEYS when no key is configured at all', async () => {
      const open = await startApi(dialect, { API_KEYS: '' })
      try {
        const response = await open.app.inject({
          method: 'POST',
          url: '/api/v1/records',
          headers: { authorization: `Bearer ${API_KEY}` },
          payload: aRecord(),
        })
        const problem = expectProblem(response, 401)
        expect(problem.detail).toContain('API_KEYS')
      } finally {
        await open.close()
      }
    })
  })

  describe('idempotent writes', () => {
    it('answers 201 with the stored record and a Location that serves it', async () => {
      const response = await postRecord(
        api.app,
        aRecord({ symbol: ' btc ', market_cap_usd: 1.2e12, rank: 1, observed_at: '2024-03-01 12:00:00' }),
      )

      expect(response.statusCode, response.body).toBe(201)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      const created = response.json<StoredRecord>()
      expect(created).toMatchObject({
        id: anyNumber(),
        asset_id: 'bitcoin',
        symbol: 'BTC',
        source: 'manual',
        observed_at: '2024-03-01T12:00:00.000Z',
        price_usd: 61_000.5,
        market_cap_usd: 1.2e12,
        rank: 1,
        run_id: null,
      })
      expect(response.headers.location).toBe(`/api/v1/records/${created.id}`)

      const served = await api.app.inject({ method: 'GET', url: response.headers.location! })
      expect(served.statusCode).toBe(200)
      expect(served.json()).toEqual(created)
    })

    it('answers 200 with the same id when the same record is posted again', async () => {
      const first = await postRecord(api.app, aRecord())
      const again = await postRecord(api.app, aRecord({ observed_at: '2024-03-01T13:00:00+01:00' }))

      expect(first.statusCode).toBe(201)
      expect(again.statusCode, again.body).toBe(200)
      expect(again.headers.location).toBeUndefined()
      expect(again.json<StoredRecord>().id).toBe(first.json<StoredRecord>().id)
      expect(again.json()).toEqual(first.json())
      expect(await recordCount()).toBe(1)
    })

    it('answers 409 problem and keeps the stored values when the same key arrives with another price', async () => {
      const first = (await postRecord(api.app, aRecord())).json<StoredRecord>()

      const problem = expectProblem(await postRecord(api.app, aRecord({ price_usd: 59_999 })), 409)
      expect(problem.detail).toContain('bitcoin')

      const stored = await api.app.inject({ method: 'GET', url: `/api/v1/records/${first.id}` })
      expect(stored.json<StoredRecord>().price_usd).toBe(61_000.5)
      expect(await recordCount()).toBe(1)
    })

    it('answers 409 problem when only an optional market value differs', async () => {
      expect((await postRecord(api.app, aRecord({ market_cap_usd: 100 }))).statusCode).toBe(201)
      expectProblem(await postRecord(api.app, aRecord({ market_cap_usd: null })), 409)
    })

    it('answers 201 to one and 409 to the other when two conflicting records race for one key', async () => {
      expect((await postRecord(api.app, aRecord({ observed_at: '2020-01-01' }))).statusCode).toBe(201)
      const outcomes: string[] = []
      for (let second = 0; second < 10; second++) {
        const observedAt = `2024-01-01T00:00:${String(second).padStart(2, '0')}Z`
        const [cheap, dear] = await Promise.all([
          postRecord(api.app, aRecord({ observed_at: observedAt, price_usd: 1 })),
          postRecord(api.app, aRecord({ observed_at: observedAt, price_usd: 2 })),
        ])
        const stored = await api.test.db.kysely
          .selectFrom('records')
          .select('priceUsd')
          .where('observedAt', '=', new Date(observedAt).toISOString())
          .executeTakeFirstOrThrow()
        const winner = cheap.statusCode === 201 ? 1 : 2
        outcomes.push(`${cheap.statusCode}/${dear.statusCode} stored ${stored.priceUsd} (201 said ${winner})`)
      }
      const expected = outcomes.map((o) =>
        o.startsWith('201/409') ? '201/409 stored 1 (201 said 1)' : '409/201 stored 2 (201 said 2)',
      )
      expect(outcomes).toEqual(expected)
    })

    it('answers 201 to one and 200 to the other when the same record is posted twice at once', async () => {
      expect((await postRecord(api.app, aRecord({ observed_at: '2020-01-01' }))).statusCode).toBe(201)
      const statuses: string[] = []
      for (let second = 0; second < 10; second++) {
        const body = aRecord({ observed_at: `2024-01-01T00:00:${String(second).padStart(2, '0')}Z` })
        const responses = await Promise.all([postRecord(api.app, body), postRecord(api.app, body)])
        statuses.push(
          responses
            .map((r) => r.statusCode)
            .sort()
            .join('/'),
        )
      }
      expect(statuses).toEqual(Array<string>(10).fill('200/201'))
    })

    it('stores the same time from another source as another record', async () => {
      const manual = await postRecord(api.app, aRecord())
      const csv = await postRecord(api.app, aRecord({ source: 'csv', price_usd: 1 }))

      expect([manual.statusCode, csv.statusCode]).toEqual([201, 201])
      expect(csv.json<StoredRecord>()).toMatchObject({ source: 'csv', asset_id: 'bitcoin', price_usd: 1 })
      expect(await recordCount()).toBe(2)
    })
  })

  describe('body validation', () => {
    it.each([
      ['price_usd is missing', aRecord({ price_usd: undefined }), 'price_usd'],
      ['price_usd is negative', aRecord({ price_usd: -1 }), 'price_usd'],
      ['price_usd is not a number', aRecord({ price_usd: 'cheap' }), 'price_usd'],
      ['symbol is missing', aRecord({ symbol: undefined }), 'symbol'],
      ['observed_at is not a time', aRecord({ observed_at: 'soon' }), 'observed_at'],
      ['observed_at is missing', aRecord({ observed_at: undefined }), 'observed_at'],
      ['source is unknown', aRecord({ source: 'nope' }), 'source'],
      ['rank is 0', aRecord({ rank: 0 }), 'rank'],
      ['market_cap_usd is negative', aRecord({ market_cap_usd: -5 }), 'market_cap_usd'],
      ['market_cap_usd is a string', aRecord({ market_cap_usd: 'big' }), 'market_cap_usd'],
      ['price_usd is a boolean', aRecord({ price_usd: true }), 'price_usd'],
      ['rank is a boolean', aRecord({ rank: true }), 'rank'],
      ['an unknown property is present', aRecord({ colour: 'blue' }), 'colour'],
    ])('answers 400 problem naming the field when %s', async (_what, body, field) => {
      expectProblem(await postRecord(api.app, body), 400, field)
      expect(await recordCount()).toBe(0)
    })

    it('names every missing and every unknown field of one body', async () => {
      const problem = expectProblem(
        await postRecord(api.app, { name: 'Bitcoin', colour: 'blue', size: 3 }),
        400,
      )
      expect(problem.errors!.map((e) => [e.field, e.in]).sort()).toEqual([
        ['colour', 'body'],
        ['observed_at', 'body'],
        ['price_usd', 'body'],
        ['size', 'body'],
        ['symbol', 'body'],
      ])
    })

    it('answers 400 naming asset_id when that asset does not exist', async () => {
      const problem = expectProblem(
        await postRecord(api.app, aRecord({ asset_id: 'no-such-asset' })),
        400,
        'asset_id',
      )
      expect(problem.detail).toContain('no-such-asset')
      expect(await recordCount()).toBe(0)
    })

    it('answers 400 problem for malformed JSON', async () => {
      const response = await api.app.inject({
        method: 'POST',
        url: '/api/v1/records',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        payload: '{"symbol": "BTC", "price_usd": ',
      })
      expectProblem(response, 400)
      expect(await recordCount()).toBe(0)
    })

    it('answers 413 problem for a body over the limit', async () => {
      const response = await postRecord(api.app, aRecord({ name: 'x'.repeat(20_000) }))
      expectProblem(response, 413)
      expect(await recordCount()).toBe(0)
    })

    it('answers 415 problem for a body that is neither JSON nor text', async () => {
      const response = await api.app.inject({
        method: 'POST',
        url: '/api/v1/records',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/xml' },
        payload: '<record symbol="BTC" price_usd="61000"/>',
      })
      expectProblem(response, 415)
    })
  })

  describe('identity', () => {
    it('joins the asset of a CSV row with the same symbol and name', async () => {
      await importCsv(api.ctx, 'date,symbol,name,price_usd\n2024-01-01,BTC,Bitcoin,42000\n')

      const response = await postRecord(
        api.app,
        aRecord({ symbol: 'btc', name: 'bitcoin', observed_at: '2024-01-02' }),
      )
      expect(response.statusCode, response.body).toBe(201)
      expect(response.json<StoredRecord>().asset_id).toBe('bitcoin')

      const list = await api.app.inject({ method: 'GET', url: '/api/v1/records?asset=bitcoin&order=asc' })
      expect(list.json<{ data: StoredRecord[] }>().data.map((r) => [r.source, r.observed_at])).toEqual([
        ['csv', '2024-01-01T00:00:00.000Z'],
        ['manual', '2024-01-02T00:00:00.000Z'],
      ])
      const assets = await api.test.db.kysely.selectFrom('assets').select('id').execute()
      expect(assets.map((a) => a.id)).toEqual(['bitcoin'])
    })

    it('keeps an asset of the same symbol but another name apart', async () => {
      await importCsv(api.ctx, 'date,symbol,name,price_usd\n2024-01-01,AXL,Axelar,0.7\n')

      const response = await postRecord(
        api.app,
        aRecord({ symbol: 'AXL', name: 'AXL Inu', price_usd: 0.00001 }),
      )
      expect(response.statusCode, response.body).toBe(201)
      expect(response.json<StoredRecord>().asset_id).not.toBe('axelar')
    })

    it('stores the record on a given asset_id that exists', async () => {
      await importCsv(api.ctx, 'date,symbol,name,price_usd\n2024-01-01,ETH,Ethereum,2300\n')

      const response = await postRecord(
        api.app,
        aRecord({ symbol: 'ETH', name: undefined, asset_id: 'ethereum', price_usd: 2400 }),
      )
      expect(response.statusCode, response.body).toBe(201)
      expect(response.json<StoredRecord>()).toMatchObject({ asset_id: 'ethereum', symbol: 'ETH' })
    })
  })
})
