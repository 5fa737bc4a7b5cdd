import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { insertSchemaChanges } from '../../src/db/repositories/schema-change-repository.js'
import type { NewSchemaChange } from '../../src/db/schema.js'
import { anyNumber, anyString, type ApiFixture, expectProblem, startApi } from '../helpers/api-fixture.js'
import { seedRun } from '../helpers/run-seed.js'
import { DIALECTS } from '../helpers/test-database.js'

interface SchemaChangeItem {
  id: number
  source: string
  stream: string
  field: string
  change: string
  detail: Record<string, unknown>
  run_id: number | null
  raw_batch_id: number | null
  detected_at: string
}

interface SchemaChangePage {
  data: SchemaChangeItem[]
  page: { limit: number; next_cursor: string | null }
  meta: { request_id: string; api_latency_ms: number }
}

function aChange(overrides: Partial<NewSchemaChange> = {}): NewSchemaChange {
  return {
    source: 'coingecko',
    stream: 'markets',
    field: 'current_price',
    change: 'retyped',
    detail: JSON.stringify({ message: 'current_price is a string', expected: 'number', actual: 'string' }),
    runId: null,
    rawBatchId: null,
    detectedAt: '2026-04-01T08:00:00.000Z',
    ...overrides,
  }
}

describe.each(DIALECTS)('GET /api/v1/schema-changes on %s', (dialect) => {
  let api: ApiFixture
  beforeEach(async () => {
    api = await startApi(dialect)
  })
  afterEach(() => api.close())

  const list = async (query = ''): Promise<SchemaChangePage> => {
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/schema-changes${query}` })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    return response.json<SchemaChangePage>()
  }
  const fields = (page: SchemaChangePage) => page.data.map((c) => c.field)

  /** Five changes over two sources, three streams, four kinds and two runs, in this order. */
  const seedChanges = async () => {
    const db = api.test.db.kysely
    const first = await seedRun(db, { source: 'coingecko', status: 'partial' })
    const second = await seedRun(db, { source: 'coinpaprika', status: 'succeeded' })
    await insertSchemaChanges(db, [
      aChange({ field: 'a', change: 'added', runId: first.id }),
      aChange({ field: 'b', change: 'removed', stream: 'coins', runId: first.id }),
      aChange({ field: 'c', change: 'retyped', runId: first.id }),
      aChange({ field: 'd', source: 'coinpaprika', stream: 'tickers', change: 'renamed', runId: second.id }),
      aChange({ field: 'e', source: 'coinpaprika', stream: 'tickers', change: 'added', runId: second.id }),
    ])
    return { first, second }
  }

  it('lists changes newest first with the detail as an object in snake_case', async () => {
    const run = await seedRun(api.test.db.kysely, { source: 'coinpaprika', status: 'partial' })
    await insertSchemaChanges(api.test.db.kysely, [
      aChange({ runId: run.id, rawBatchId: 7 }),
      aChange({
        source: 'coinpaprika',
        stream: 'tickers',
        field: 'quotes.USD.volume_24h',
        change: 'renamed',
        detail: JSON.stringify({
          message: 'volume_24h seems renamed to volume24h',
          renamedTo: 'quotes.USD.volume24h',
          confidence: 0.8,
          items: { affected: 1990, total: 2000 },
        }),
        runId: run.id,
        rawBatchId: 8,
        detectedAt: '2026-04-02T09:30:00.000Z',
      }),
    ])

    const body = await list()
    expect(body.page).toEqual({ limit: 100, next_cursor: null })
    expect(body.meta).toEqual({ request_id: anyString(), api_latency_ms: anyNumber() })
    expect(body.data).toEqual([
      {
        id: anyNumber(),
        source: 'coinpaprika',
        stream: 'tickers',
        field: 'quotes.USD.volume_24h',
        change: 'renamed',
        detail: {
          message: 'volume_24h seems renamed to volume24h',
          renamed_to: 'quotes.USD.volume24h',
          confidence: 0.8,
          items: { affected: 1990, total: 2000 },
        },
        run_id: run.id,
        raw_batch_id: 8,
        detected_at: '2026-04-02T09:30:00.000Z',
      },
      {
        id: anyNumber(),
        source: 'coingecko',
        stream: 'markets',
        field: 'current_price',
        change: 'retyped',
        detail: { message: 'current_price is a string', expected: 'number', actual: 'string' },
        run_id: run.id,
        raw_batch_id: 7,
        detected_at: '2026-04-01T08:00:00.000Z',
      },
    ])
    expect(body.data[0]!.id).toBeGreaterThan(body.data[1]!.id)
  })

  it('answers a detail that is not a JSON object as its raw text in message', async () => {
    await insertSchemaChanges(api.test.db.kysely, [
      aChange({ field: 'x', detail: 'price went missing' }),
      aChange({ field: 'y', detail: '[1,2]' }),
      aChange({ field: 'z', detail: JSON.stringify({ note: 'no message here' }) }),
    ])
    expect((await list()).data.map((c) => [c.field, c.detail])).toEqual([
      ['z', { message: '{"note":"no message here"}', note: 'no message here' }],
      ['y', { message: '[1,2]' }],
      ['x', { message: 'price went missing' }],
    ])
  })

  it('filters by source, stream, change and run, alone and together', async () => {
    const { first, second } = await seedChanges()

    expect(fields(await list())).toEqual(['e', 'd', 'c', 'b', 'a'])
    expect(fields(await list('?source=coingecko'))).toEqual(['c', 'b', 'a'])
    expect(fields(await list('?source=csv'))).toEqual([])
    expect(fields(await list('?stream=tickers'))).toEqual(['e', 'd'])
    expect(fields(await list('?stream=coins'))).toEqual(['b'])
    expect(fields(await list('?change=added'))).toEqual(['e', 'a'])
    expect(fields(await list('?change=renamed'))).toEqual(['d'])
    expect(fields(await list(`?run_id=${first.id}`))).toEqual(['c', 'b', 'a'])
    expect(fields(await list(`?run_id=${second.id}&change=added`))).toEqual(['e'])
    expect(fields(await list('?source=coingecko&stream=markets&change=retyped'))).toEqual(['c'])
    expect(fields(await list(`?run_id=${second.id + 100}`))).toEqual([])
  })

  it('returns every change exactly once when walking pages, keeping the filter', async () => {
    await seedChanges()
    const walk = async (query: string) => {
      const pages: SchemaChangePage[] = []
      let url = `?${query}`
      for (;;) {
        const body = await list(url)
        pages.push(body)
        if (body.page.next_cursor === null || pages.length > 10) return pages
        url = `?${query}&cursor=${encodeURIComponent(body.page.next_cursor)}`
      }
    }
    const all = await walk('limit=2')
    expect(all.map((p) => p.data.length)).toEqual([2, 2, 1])
    expect(all.flatMap(fields)).toEqual(['e', 'd', 'c', 'b', 'a'])

    const coingecko = await walk('limit=1&source=coingecko')
    expect(coingecko.flatMap(fields)).toEqual(['c', 'b', 'a'])
  })

  it.each([
    ['source=manual', 'source'],
    ['source=nope', 'source'],
    ['change=moved', 'change'],
    ['run_id=abc', 'run_id'],
    ['run_id=0', 'run_id'],
    ['stream=', 'stream'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['cursor=not-a-cursor', 'cursor'],
    [`cursor=${Buffer.from(JSON.stringify(['desc', 'x'])).toString('base64url')}`, 'cursor'],
    ['field=price', 'field'],
  ])('answers 400 problem naming the parameter for %s', async (query, field) => {
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/schema-changes?${query}` })
    expectProblem(response, 400, field)
  })
})
