import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DIALECTS } from '../helpers/test-database.js'
import {
  anyNumber,
  anyString,
  type ApiFixture,
  expectProblem,
  importCsv,
  ISO_TIME,
  matching,
  startApi,
} from '../helpers/api-fixture.js'

interface RejectionItem {
  id: number
  run_id: number | null
  raw_batch_id: number | null
  source: string
  line: number | null
  reason_code: string
  message: string
  raw: string | null
  created_at: string
}

interface RejectionPage {
  data: RejectionItem[]
  page: { limit: number; next_cursor: string | null }
  meta: { request_id: string; api_latency_ms: number }
}

/** Two clean rows, one unchanged repeat and five bad ones (lines 3, 4, 5, 6 and 9). */
const BAD_ROWS_CSV = [
  'date,symbol,price_usd,market_cap_usd',
  '2024-01-01,BTC,42000,800000000000',
  '2024-01-01,ETH,2300',
  'not-a-date,ETH,2300,1',
  '2024-01-02,,2300,1',
  '2024-01-02,ETH,N/A,1',
  '2024-01-02,BTC,43000,N/A',
  '2024-01-02, btc ,"$43,000.00",',
  '2024-01-02 00:00:00,BTC,43100,',
].join('\n')

describe.each(DIALECTS)('GET /api/v1/rejections on %s', (dialect) => {
  let api: ApiFixture
  beforeEach(async () => {
    api = await startApi(dialect)
  })
  afterEach(() => api.close())

  const list = async (query = ''): Promise<RejectionPage> => {
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/rejections${query}` })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    return response.json<RejectionPage>()
  }

  it('lists each rejected row of an import with its line, reason code and raw text, newest first', async () => {
    const run = await importCsv(api.ctx, BAD_ROWS_CSV)
    expect(run).toMatchObject({ status: 'succeeded', rejected: 5 })

    const body = await list()
    expect(body.page).toEqual({ limit: 100, next_cursor: null })
    expect(body.meta).toEqual({ request_id: anyString(), api_latency_ms: anyNumber() })
    expect(body.data.map((r) => [r.line, r.reason_code, r.raw])).toEqual([
      [9, 'CSV_CONFLICTING_DUPLICATE', '2024-01-02 00:00:00,BTC,43100,'],
      [6, 'CSV_PRICE_INVALID', '2024-01-02,ETH,N/A,1'],
      [5, 'CSV_SYMBOL_MISSING', '2024-01-02,,2300,1'],
      [4, 'CSV_DATE_INVALID', 'not-a-date,ETH,2300,1'],
      [3, 'CSV_COLUMN_COUNT', '2024-01-01,ETH,2300'],
    ])
    for (const rejection of body.data) {
      expect(rejection).toMatchObject({
        id: anyNumber(),
        run_id: run.id,
        raw_batch_id: anyNumber(),
        source: 'csv',
        message: anyString(),
        created_at: matching(ISO_TIME),
      })
    }
    const ids = body.data.map((r) => r.id)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
  })

  it('counts rejected rows per source and reason, most frequent first, since a time', async () => {
    const first = await importCsv(api.ctx, BAD_ROWS_CSV)
    await importCsv(api.ctx, 'date,symbol,price_usd\n2024-02-01,SOL,-1\n2024-02-01,,5\n2024-02-01,,6\n')
    await api.test.exec(
      `INSERT INTO rejections (run_id, raw_batch_id, source, line, reason_code, message, raw, created_at)
       VALUES (NULL, NULL, 'coingecko', NULL, 'PAYLOAD_FIELD_MISSING', 'current_price is missing', NULL, '2024-05-01T00:00:00.000Z')`,
    )
    const reasons = async (query = '') => {
      const response = await api.app.inject({ method: 'GET', url: `/api/v1/rejections/reasons${query}` })
      expect(response.statusCode, response.body).toBe(200)
      return response.json<{
        data: { source: string; reason_code: string; count: number; last_rejected_at: string }[]
      }>().data
    }

    const all = await reasons()
    // By count, then source and reason.
    expect(all.map((r) => [r.source, r.reason_code, r.count])).toEqual([
      ['csv', 'CSV_SYMBOL_MISSING', 3],
      ['csv', 'CSV_PRICE_INVALID', 2],
      ['coingecko', 'PAYLOAD_FIELD_MISSING', 1],
      ['csv', 'CSV_COLUMN_COUNT', 1],
      ['csv', 'CSV_CONFLICTING_DUPLICATE', 1],
      ['csv', 'CSV_DATE_INVALID', 1],
    ])
    expect(all.find((r) => r.source === 'coingecko')?.last_rejected_at).toBe('2024-05-01T00:00:00.000Z')
    expect((await reasons('?source=coingecko')).map((r) => r.count)).toEqual([1])
    // The CSV rows were rejected just now; the coingecko one in May 2024.
    const recent = await reasons(`?from=${encodeURIComponent(first.startedAt)}`)
    expect(recent.map((r) => r.source)).not.toContain('coingecko')
    expect(recent.reduce((n, r) => n + r.count, 0)).toBe(8)
    expectProblem(
      await api.app.inject({ method: 'GET', url: '/api/v1/rejections/reasons?from=soon' }),
      400,
      'from',
    )
  })

  it('answers an empty list when nothing was rejected', async () => {
    await importCsv(api.ctx, 'date,symbol,price_usd\n2024-01-01,BTC,42000\n')
    expect((await list()).data).toEqual([])
  })

  it('returns only the rejections of one run with run_id', async () => {
    const first = await importCsv(api.ctx, BAD_ROWS_CSV)
    const second = await importCsv(api.ctx, 'date,symbol,price_usd\n2024-02-01,SOL,-1\n2024-02-01,,5\n')

    expect((await list(`?run_id=${first.id}`)).data.map((r) => r.line)).toEqual([9, 6, 5, 4, 3])
    const ofSecond = (await list(`?run_id=${second.id}`)).data
    expect(ofSecond.map((r) => [r.run_id, r.line, r.reason_code])).toEqual([
      [second.id, 3, 'CSV_SYMBOL_MISSING'],
      [second.id, 2, 'CSV_PRICE_INVALID'],
    ])
    expect((await list(`?run_id=${second.id + 100}`)).data).toEqual([])
  })

  it('returns only the rejections of one source with source', async () => {
    await importCsv(api.ctx, BAD_ROWS_CSV)
    await api.test.exec(
      `INSERT INTO rejections (run_id, raw_batch_id, source, line, reason_code, message, raw, created_at)
       VALUES (NULL, NULL, 'coingecko', NULL, 'PAYLOAD_FIELD_MISSING', 'current_price is missing', '{"id":"x"}', '2024-05-01T00:00:00.000Z')`,
    )

    const coingecko = (await list('?source=coingecko')).data
    expect(coingecko.map((r) => [r.source, r.reason_code, r.line, r.raw])).toEqual([
      ['coingecko', 'PAYLOAD_FIELD_MISSING', null, '{"id":"x"}'],
    ])
    const csv = (await list('?source=csv')).data
    expect(csv).toHaveLength(5)
    expect(new Set(csv.map((r) => r.source))).toEqual(new Set(['csv']))
    expect((await list('?source=manual')).data).toEqual([])
    expect((await list()).data).toHaveLength(6)
  })

  it('returns every rejection exactly once when walking pages of 2', async () => {
    await importCsv(api.ctx, BAD_ROWS_CSV)
    const all = (await list()).data.map((r) => r.id)

    const pages: RejectionPage[] = []
    let query = '?limit=2'
    for (;;) {
      const body = await list(query)
      pages.push(body)
      if (body.page.next_cursor === null || pages.length > 10) break
      query = `?limit=2&cursor=${encodeURIComponent(body.page.next_cursor)}`
    }

    expect(pages.map((p) => p.data.length)).toEqual([2, 2, 1])
    expect(pages.every((p) => p.page.limit === 2)).toBe(true)
    expect(pages.flatMap((p) => p.data.map((r) => r.id))).toEqual(all)
  })

  it('keeps the filter while walking pages', async () => {
    const first = await importCsv(api.ctx, BAD_ROWS_CSV)
    await importCsv(api.ctx, 'date,symbol,price_usd\n2024-02-01,SOL,-1\n2024-02-01,,5\n')

    const page1 = await list(`?run_id=${first.id}&limit=3`)
    const page2 = await list(
      `?run_id=${first.id}&limit=3&cursor=${encodeURIComponent(page1.page.next_cursor!)}`,
    )
    expect([...page1.data, ...page2.data].map((r) => r.line)).toEqual([9, 6, 5, 4, 3])
    expect(page2.page.next_cursor).toBeNull()
  })

  it.each([
    ['run_id=abc', 'run_id'],
    ['run_id=0', 'run_id'],
    ['source=nope', 'source'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${Buffer.from(JSON.stringify(['desc', 1.5])).toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from(JSON.stringify(['asc', 3])).toString('base64url')}`, 'cursor'],
    ['reason=CSV_DATE_INVALID', 'reason'],
  ])('answers 400 problem naming the parameter for %s', async (query, field) => {
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/rejections?${query}` })
    expectProblem(response, 400, field)
  })
})
