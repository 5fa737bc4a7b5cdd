import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseDatabaseUrl } from '../../src/config.js'
import { openDatabase } from '../../src/db/database.js'
import { csvText } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'
import {
  anyNumber,
  anyString,
  API_KEY,
  type ApiFixture,
  aRecord,
  buildTestApp,
  expectNoInternals,
  expectProblem,
  importCsv,
  ISO_TIME,
  matching,
  postRecord,
  startApi,
} from '../helpers/api-fixture.js'

interface Health {
  status: 'ok' | 'degraded' | 'down'
  database: { kind: string; reachable: boolean; latency_ms: number | null; error?: string }
  sources: {
    source: string
    enabled: boolean
    last_run: {
      id: number
      status: string
      started_at: string
      finished_at: string | null
      error_code: string | null
    } | null
  }[]
  checked_at: string
}

interface OpenApiDocument {
  openapi: string
  info: { title: string }
  paths: Record<string, Record<string, unknown>>
}

const HEADER_WITHOUT_PRICE = 'date,symbol,market_cap_usd\n2024-01-01,BTC,1\n'

describe.each(DIALECTS)('health, errors and documents on %s', (dialect) => {
  let api: ApiFixture
  beforeEach(async () => {
    api = await startApi(dialect)
  })
  afterEach(() => api.close())

  const health = async (app = api.app) => {
    const response = await app.inject({ method: 'GET', url: '/health' })
    return { response, body: response.json<Health>() }
  }
  /** The API over a second handle to the same database, closed before use: the database is gone. */
  const appWithClosedDatabase = async () => {
    const db = await openDatabase(parseDatabaseUrl(api.test.url))
    const { app } = await buildTestApp({ ...api.test, db })
    // Kysely only really closes a handle it has used.
    await sql`select 1`.execute(db.kysely)
    await db.close()
    return app
  }

  describe('GET /health', () => {
    it('answers ok with the database reachable, its latency and every enabled source', async () => {
      const { response, body } = await health()

      expect(response.statusCode).toBe(200)
      expect(body).toEqual({
        status: 'ok',
        database: { kind: dialect, reachable: true, latency_ms: anyNumber() },
        sources: [
          { source: 'coingecko', enabled: true, last_run: null },
          { source: 'coinpaprika', enabled: true, last_run: null },
          { source: 'csv', enabled: true, last_run: null },
        ],
        checked_at: matching(ISO_TIME),
      })
      expect(body.database.latency_ms).toBeGreaterThanOrEqual(0)
    })

    it('answers ok with the last run of a source that succeeded', async () => {
      const run = await importCsv(api.ctx, csvText(4))
      const { response, body } = await health()

      expect(response.statusCode).toBe(200)
      expect(body.status).toBe('ok')
      expect(body.sources.find((s) => s.source === 'csv')?.last_run).toEqual({
        id: run.id,
        status: 'succeeded',
        started_at: matching(ISO_TIME),
        finished_at: matching(ISO_TIME),
        error_code: null,
      })
    })

    it('answers degraded, still 200, when the last run of an enabled source failed', async () => {
      const run = await importCsv(api.ctx, HEADER_WITHOUT_PRICE)
      expect(run).toMatchObject({ status: 'failed', errorCode: 'CSV_HEADER_INVALID' })

      const { response, body } = await health()
      expect(response.statusCode).toBe(200)
      expect(body.status).toBe('degraded')
      expect(body.database.reachable).toBe(true)
      expect(body.sources.find((s) => s.source === 'csv')).toMatchObject({
        source: 'csv',
        enabled: true,
        last_run: { id: run.id, status: 'failed', error_code: 'CSV_HEADER_INVALID' },
      })
    })

    it('answers ok again once a later run of the failed source succeeds', async () => {
      await importCsv(api.ctx, HEADER_WITHOUT_PRICE)
      expect((await health()).body.status).toBe('degraded')

      await importCsv(api.ctx, csvText(4))
      expect((await health()).body.status).toBe('ok')
    })

    it('stays ok when the source whose last run failed is not enabled', async () => {
      await importCsv(api.ctx, HEADER_WITHOUT_PRICE)
      const { app } = await buildTestApp(api.test, { SOURCES: 'coingecko,coinpaprika' })
      try {
        const { body } = await health(app)
        expect(body.status).toBe('ok')
        expect(body.sources.find((s) => s.source === 'csv')).toMatchObject({
          enabled: false,
          last_run: { status: 'failed' },
        })
      } finally {
        await app.close()
      }
    })

    it('answers down with 503 when the database is unreachable', async () => {
      const app = await appWithClosedDatabase()
      try {
        const { response, body } = await health(app)
        expect(response.statusCode).toBe(503)
        expect(response.headers['x-request-id']).toEqual(anyString())
        expect(body).toMatchObject({
          status: 'down',
          database: { kind: dialect, reachable: false, latency_ms: null, error: anyString() },
          checked_at: matching(ISO_TIME),
        })
        expectNoInternals(response.body)
      } finally {
        await app.close()
      }
    })
  })

  describe('errors and request ids', () => {
    it('answers a 404 problem for an unknown route', async () => {
      const response = await api.app.inject({ method: 'GET', url: '/api/v1/nothing-here?x=1' })
      const problem = expectProblem(response, 404)
      expect(problem.detail).toContain('/api/v1/nothing-here')
      expect(problem.detail).not.toContain('x=1')
    })

    it('answers a 404 problem for a record that does not exist', async () => {
      expectProblem(await api.app.inject({ method: 'GET', url: '/api/v1/records/999999' }), 404)
    })

    it('answers a 500 problem that names no internals when a write meets a closed database', async () => {
      const app = await appWithClosedDatabase()
      try {
        const problem = expectProblem(await postRecord(app, aRecord()), 500)
        expect(problem.detail).toContain(problem.request_id)
        expect(problem.detail).not.toMatch(/pool|connection|sqlite|postgres/i)
      } finally {
        await app.close()
      }
    })

    it.each([
      ['a list', 'GET', '/api/v1/records'],
      ['the health check', 'GET', '/health'],
      ['a validation error', 'GET', '/api/v1/records?limit=0'],
      ['an unknown route', 'GET', '/nope'],
      ['a missing write key', 'POST', '/api/v1/records'],
      ['the dashboard', 'GET', '/'],
      ['the OpenAPI document', 'GET', '/openapi.json'],
    ] as const)('gives %s an x-request-id, and echoes a valid incoming one', async (_what, method, url) => {
      const generated = await api.app.inject({ method, url })
      expect(generated.headers['x-request-id']).toMatch(/^[\w.:-]{8,128}$/)

      const echoed = await api.app.inject({ method, url, headers: { 'x-request-id': 'trace-42.a:b_c' } })
      expect(echoed.headers['x-request-id']).toBe('trace-42.a:b_c')
    })

    it.each([
      ['spaces', 'not a valid id'],
      ['a header injection attempt', 'abc\u00e9<script>'],
      ['more than 128 characters', 'x'.repeat(129)],
    ])('replaces an incoming x-request-id with %s by its own', async (_what, given) => {
      const response = await api.app.inject({
        method: 'GET',
        url: '/health',
        headers: { 'x-request-id': given },
      })
      expect(response.headers['x-request-id']).not.toBe(given)
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    })

    it('puts the request id in the problem body and the list meta', async () => {
      const problem = await api.app.inject({ method: 'GET', url: '/api/v1/records?limit=0' })
      expect(problem.json<{ request_id: string }>().request_id).toBe(problem.headers['x-request-id'])
      const list = await api.app.inject({ method: 'GET', url: '/api/v1/records' })
      expect(list.json<{ meta: { request_id: string } }>().meta.request_id).toBe(list.headers['x-request-id'])
    })
  })

  describe('documents', () => {
    it('serves an OpenAPI 3.1 document listing the records, rejections and health routes', async () => {
      const response = await api.app.inject({ method: 'GET', url: '/openapi.json' })

      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      const document = response.json<OpenApiDocument>()
      expect(document.openapi).toMatch(/^3\.1\./)
      expect(document.info.title).toBe('coinpipe')
      expect(Object.keys(document.paths['/api/v1/records'] ?? {}).sort()).toEqual(['get', 'post'])
      expect(document.paths['/api/v1/rejections']).toHaveProperty('get')
      expect(document.paths['/health']).toHaveProperty('get')
      expect(document.paths['/api/v1/records/{id}']).toHaveProperty('get')
      expect(document.paths['/openapi.json']).toBeUndefined()
    })

    it('serves the interactive docs at /docs', async () => {
      let response = await api.app.inject({ method: 'GET', url: '/docs' })
      if (response.statusCode === 302) {
        const location = String(response.headers.location)
        response = await api.app.inject({
          method: 'GET',
          url: new URL(location, 'http://local/docs').pathname,
        })
      }
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toMatch(/^text\/html/)
      expect(response.body).toMatch(/swagger/i)
    })

    it('serves the HTML dashboard at /', async () => {
      const response = await api.app.inject({ method: 'GET', url: '/' })

      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toMatch(/^text\/html/)
      expect(response.body).toMatch(/^<!doctype html>/i)
      expect(response.body).toContain('<title>coinpipe</title>')
      expect(response.body).toContain('<script type="module" src="/dashboard/app.js"></script>')
    })
  })

  describe('with API_READ_KEYS_REQUIRED=true', () => {
    let guarded: Awaited<ReturnType<typeof buildTestApp>>['app']
    beforeEach(async () => {
      guarded = (await buildTestApp(api.test, { API_READ_KEYS_REQUIRED: 'true' })).app
    })
    afterEach(() => guarded.close())

    it.each(['/api/v1/records', '/data', '/api/v1/rejections', '/api/v1/records?limit=0'])(
      'answers 401 problem for GET %s without a key',
      async (url) => {
        expectProblem(await guarded.inject({ method: 'GET', url }), 401)
      },
    )

    it('answers 401 problem for a read with a wrong key', async () => {
      const response = await guarded.inject({
        method: 'GET',
        url: '/api/v1/records',
        headers: { 'x-api-key': 'k-not-the-right-key-at-all' },
      })
      expectProblem(response, 401)
    })

    it.each([
      ['Authorization: Bearer', { authorization: `Bearer ${API_KEY}` }],
      ['X-API-Key', { 'x-api-key': API_KEY }],
    ])('answers 200 for a read with the key as %s', async (_how, headers) => {
      await importCsv(api.ctx, csvText(3))
      const response = await guarded.inject({ method: 'GET', url: '/api/v1/records', headers })
      expect(response.statusCode, response.body).toBe(200)
      expect(response.json<{ data: unknown[] }>().data).toHaveLength(3)
    })

    it('keeps /health public', async () => {
      const response = await guarded.inject({ method: 'GET', url: '/health' })
      expect(response.statusCode).toBe(200)
      expect(response.json<Health>().status).toBe('ok')
    })

    it.each(['/%61pi/v1/records', '/api/v1/%72ecords', '/%64ata'])(
      'does not serve data without a key through the percent-encoded path %s',
      async (url) => {
        const response = await guarded.inject({ method: 'GET', url })
        expect([401, 404]).toContain(response.statusCode)
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
      },
    )
  })
})
