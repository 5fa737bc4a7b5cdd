import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Static } from 'typebox'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RecordItem as RecordItemSchema } from '../../src/api/schemas.js'
import { EXPORT_CHUNK_ROWS } from '../../src/export/record-chunks.js'
import { AWKWARD_RECORDS, recordsFromCsv as parseCsvAnswer } from '../helpers/export-files.js'
import { csvText } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'
import { type ApiFixture, expectProblem, importCsv, postRecord, startApi } from '../helpers/api-fixture.js'

type RecordItem = Static<typeof RecordItemSchema>

interface RecordPage {
  data: RecordItem[]
  page: { limit: number; next_cursor: string | null }
}

describe.each(DIALECTS)('GET /api/v1/records as CSV on %s', (dialect) => {
  let api: ApiFixture
  beforeEach(async () => {
    api = await startApi(dialect)
  })
  afterEach(() => api.close())

  const get = (url: string, headers: Record<string, string> = {}) =>
    api.app.inject({ method: 'GET', url, headers })
  const jsonItems = async (url: string) => {
    const response = await get(url)
    expect(response.statusCode, response.body).toBe(200)
    return response.json<RecordPage>().data
  }
  const csvAnswer = async (url: string, headers: Record<string, string> = {}) => {
    const response = await get(url, headers)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8')
    return { response, ...parseCsvAnswer(response.body) }
  }
  const withCsv = (url: string) => `${url}${url.includes('?') ? '&' : '?'}format=csv`

  describe('parsed back, equals the JSON answer', () => {
    beforeEach(async () => {
      await importCsv(api.ctx, csvText(40) + '2024-01-03,NUL,1.5,N/A\n2024-01-04,NUL,,\n2024-01-05,NUL,0,0\n')
      for (const body of AWKWARD_RECORDS) expect((await postRecord(api.app, body)).statusCode).toBe(201)
    })

    it.each([
      '/api/v1/records?limit=1000',
      '/api/v1/records?limit=1000&order=asc',
      '/api/v1/records?asset=btc&limit=1000',
      '/api/v1/records?symbol=eth&limit=1000',
      '/api/v1/records?source=manual&limit=1000',
      '/api/v1/records?source=csv&from=2024-01-03&to=2024-01-07&limit=1000',
      '/api/v1/records?limit=7&order=asc',
      '/api/v1/records?asset=nobody&limit=1000',
      '/data?symbol=nul&limit=1000',
    ])('for %s, nulls and decimals included', async (url) => {
      const items = await jsonItems(url)
      const csv = await csvAnswer(withCsv(url))

      expect(csv.items).toEqual(items)
      expect(csv.header).toEqual(Object.keys(items[0] ?? (await jsonItems('/api/v1/records?limit=1'))[0]!))
    })

    it('holds the awkward values exactly, and an empty field for each null', async () => {
      const { items } = await csvAnswer('/api/v1/records?source=manual&order=asc&format=csv')
      expect(items.map((i) => i.price_usd)).toEqual([0.1 + 0.2, 1.2345678901e-8])
      expect(items[0]).toMatchObject({
        market_cap_usd: 1.2345678901234568e21,
        volume_24h_usd: 0,
        change_24h_pct: -3.141592653589793,
        rank: 7,
        circulating_supply: 19_999_999.123456787,
        total_supply: 5e-324,
        observed_at: '2024-02-01T00:00:00.123Z',
      })
      expect(items[1]).toMatchObject({ market_cap_usd: null, rank: null, run_id: null })
    })

    it('continues after a cursor as the next JSON page does', async () => {
      const first = await get('/api/v1/records?limit=5')
      const cursor = encodeURIComponent(first.json<RecordPage>().page.next_cursor!)
      const url = `/api/v1/records?cursor=${cursor}&limit=1000`

      expect((await csvAnswer(withCsv(url))).items).toEqual(await jsonItems(url))
    })
  })

  describe('negotiation', () => {
    beforeEach(async () => {
      await importCsv(api.ctx, csvText(8))
    })

    it.each([
      ['format=csv', '?format=csv', {}],
      ['Accept: text/csv', '', { accept: 'text/csv' }],
      ['text/csv ranked above JSON', '', { accept: 'application/json;q=0.5, text/csv' }],
      ['text/csv beside */*', '', { accept: 'text/csv, */*;q=0.1' }],
      ['format=csv whatever Accept says', '?format=csv', { accept: 'application/json' }],
    ])('answers CSV on %s', async (_name, query, headers) => {
      const { response, items } = await csvAnswer(`/api/v1/records${query}`, headers)
      expect(items).toHaveLength(8)
      expect(response.headers['content-disposition']).toBe('attachment; filename="records.csv"')
      expect(response.headers['x-request-id']).toEqual(expect.any(String))
    })

    it.each([
      ['no Accept', '', {}],
      ['*/*', '', { accept: '*/*' }],
      ['application/json', '', { accept: 'application/json' }],
      ['JSON ranked above text/csv', '', { accept: 'text/csv;q=0.5, application/json' }],
      ['a tie', '', { accept: 'application/json, text/csv' }],
      ['text/csv refused', '', { accept: 'text/csv;q=0, */*' }],
      ['format=json over Accept: text/csv', '?format=json', { accept: 'text/csv' }],
    ])('answers the JSON page on %s', async (_name, query, headers) => {
      const response = await get(`/api/v1/records${query}`, headers)
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      expect(response.json<RecordPage>().data).toHaveLength(8)
    })

    it.each(['xml', 'CSV', '', 'parquet'])('answers 400 naming format for format=%s', async (format) => {
      expectProblem(await get(`/api/v1/records?format=${format}`), 400, 'format')
    })

    it('answers a bad filter or cursor as a problem, not as a CSV', async () => {
      expectProblem(await get('/api/v1/records?format=csv&from=yesterday'), 400, 'from')
      expectProblem(await get('/api/v1/records?format=csv&cursor=bm9wZQ'), 400, 'cursor')
      expectProblem(await get('/api/v1/records?format=csv&limit=0'), 400, 'limit')
    })

    it('answers a header row alone when nothing matches', async () => {
      const response = await get('/api/v1/records?format=csv&asset=nobody')
      expect(response.statusCode).toBe(200)
      expect(response.body).toBe(
        'id,asset_id,symbol,source,observed_at,price_usd,market_cap_usd,volume_24h_usd,change_24h_pct,rank,circulating_supply,total_supply,max_supply,run_id,raw_batch_id,loaded_at\n',
      )
    })
  })

  describe('streamed', () => {
    const rowCount = EXPORT_CHUNK_ROWS + 1_001
    beforeEach(async () => {
      await importCsv(api.ctx, csvText(rowCount))
    }, 60_000)

    it('sends every matching record, beyond one JSON page and one read chunk, chunked over HTTP', async () => {
      await api.app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = api.app.server.address() as AddressInfo
      const answer = await new Promise<{ headers: Record<string, unknown>; body: string; pieces: number }>(
        (resolve, reject) => {
          httpRequest(
            { host: '127.0.0.1', port, path: '/api/v1/records?order=asc', headers: { accept: 'text/csv' } },
            (res) => {
              let body = ''
              let pieces = 0
              res.setEncoding('utf8')
              res.on('data', (piece: string) => {
                body += piece
                pieces++
              })
              res.on('end', () => resolve({ headers: res.headers, body, pieces }))
              res.on('error', reject)
            },
          )
            .on('error', reject)
            .end()
        },
      )
      expect(answer.headers['transfer-encoding']).toBe('chunked')
      expect(answer.headers['content-length']).toBeUndefined()
      expect(answer.pieces).toBeGreaterThan(1)
      const { items } = parseCsvAnswer(answer.body)
      expect(items).toHaveLength(rowCount)
      const ids = (
        await api.test.db.kysely
          .selectFrom('records')
          .select('id')
          .orderBy('observedAt', 'asc')
          .orderBy('id', 'asc')
          .execute()
      ).map((r) => r.id)
      expect(items.map((i) => i.id)).toEqual(ids)
    })

    it('reads the database in keyset chunks, and honours limit', async () => {
      const statements: string[] = []
      const stop = api.test.db.observeQueries((event) => statements.push(event.query.sql))
      const everything = await csvAnswer('/api/v1/records?format=csv')
      const limited = await csvAnswer(`/api/v1/records?format=csv&limit=1000`)
      stop()

      expect(everything.items).toHaveLength(rowCount)
      expect(limited.items).toEqual(everything.items.slice(0, 1000))
      expect(statements.filter((s) => /from records r join assets/i.test(s))).toHaveLength(3)
    })

    it('cuts the response short when the database fails after the first chunk went out', async () => {
      let pages = 0
      const stop = api.test.db.observeQueries((event) => {
        // Gone mid-answer: every later query fails, as with a lost connection.
        if (/from records r join assets/i.test(event.query.sql) && ++pages === 1)
          void api.test.db.kysely.destroy()
      })
      const outcome = await get('/api/v1/records?format=csv').then(
        (response) => ({ response, error: undefined }),
        (error: unknown) => ({ response: undefined, error }),
      )
      stop()

      if (outcome.response) {
        expect(outcome.response.statusCode).toBe(200)
        const { items } = parseCsvAnswer(outcome.response.body)
        expect(items.length).toBeGreaterThan(0)
        expect(items.length).toBeLessThan(rowCount)
      } else expect(outcome.error).toBeInstanceOf(Error)
      expect(pages).toBe(1)
    })
  })

  it('answers a failure of the first read as a problem, before any row', async () => {
    await importCsv(api.ctx, csvText(8))
    await api.test.db.kysely.destroy()
    const response = await get('/api/v1/records?format=csv')
    expect(response.statusCode).toBeGreaterThanOrEqual(500)
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  })
})
