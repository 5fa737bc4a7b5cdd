import { afterEach, describe, expect, it } from 'vitest'
import { insertSchemaChanges } from '../../src/db/repositories/schema-change-repository.js'
import { SourceUnavailableError } from '../../src/errors.js'
import type { SourceRegistry } from '../../src/sources/registry.js'
import {
  anyNumber,
  anyString,
  type ApiFixture,
  expectProblem,
  importCsv,
  ISO_TIME,
  matching,
  startApi,
  WITH_KEY,
} from '../helpers/api-fixture.js'
import { csvText, writeCsv } from '../helpers/pipeline-fixture.js'
import { seedRun } from '../helpers/run-seed.js'
import { DIALECTS } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

interface RunItem {
  id: number
  source: string
  trigger: string
  status: string
  started_at: string
  finished_at: string | null
  duration_ms: number | null
  batch_count: number
  extracted: number
  loaded: number
  unchanged: number
  rejected: number
  error_code: string | null
  error_message: string | null
  started_by: string | null
}

interface RunPage {
  data: RunItem[]
  page: { limit: number; next_cursor: string | null }
  meta: { request_id: string; api_latency_ms: number }
}

interface RunDetail extends RunItem {
  heartbeat_at: string
  checkpoint_before: Record<string, unknown> | null
  checkpoint_after: Record<string, unknown> | null
  batches: {
    id: number
    stream: string
    status: string
    row_count: number
    error_code: string | null
    error_message: string | null
    created_at: string
    loaded_at: string | null
  }[]
  rejections_by_reason: { reason_code: string; count: number }[]
  schema_changes: { id: number; field: string; change: string; run_id: number | null }[]
}

interface Comparison {
  source: string
  base: RunItem & { records: number; rejection_rate_pct: number }
  head: RunItem & { records: number; rejection_rate_pct: number }
  delta: Record<string, number | null>
  anomalies: { code: string; message: string }[]
  thresholds: Record<string, number>
}

/** Clean rows on lines 2 and 8; bad ones on lines 3 to 6, and a conflicting repeat of line 2 on line 7. */
const BAD_ROWS_CSV = [
  'date,symbol,price_usd',
  '2024-01-01,BTC,42000',
  '2024-01-01,ETH,2300,1',
  'not-a-date,ETH,2300',
  '2024-01-02,,2300',
  '2024-01-02,ETH,N/A',
  '2024-01-01,BTC,43000',
  '2024-01-02,SOL,100',
].join('\n')

const RUN_ITEM_KEYS = [
  'batch_count',
  'duration_ms',
  'error_code',
  'error_message',
  'extracted',
  'finished_at',
  'id',
  'loaded',
  'rejected',
  'source',
  'started_at',
  'started_by',
  'status',
  'trigger',
  'unchanged',
]

describe.each(DIALECTS)('runs API on %s', (dialect) => {
  let api: ApiFixture
  let started: ApiFixture | undefined
  const start = async (env: Record<string, string> = {}, sources?: SourceRegistry) => {
    api = started = await startApi(dialect, env, sources ? { sources } : {})
  }
  afterEach(async () => {
    await started?.close()
    started = undefined
  })

  const get = async <T>(url: string): Promise<T> => {
    const response = await api.app.inject({ method: 'GET', url })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    return response.json<T>()
  }
  const ids = (page: RunPage) => page.data.map((r) => r.id)
  const post = (payload: unknown, headers: Record<string, string> = WITH_KEY) =>
    api.app.inject({ method: 'POST', url: '/api/v1/runs', headers, payload: payload as object })

  describe('GET /api/v1/runs', () => {
    it('lists runs newest first with their counts, times and errors', async () => {
      await start()
      const imported = await importCsv(api.ctx, csvText(8))
      const failed = await seedRun(api.test.db.kysely, {
        source: 'coingecko',
        trigger: 'schedule',
        status: 'failed',
        startedAt: '2026-02-01T10:00:00.000Z',
        durationMs: 1500,
        extracted: 250,
        errorCode: 'SOURCE_TIMEOUT',
        errorMessage: 'no answer in time',
      })

      const body = await get<RunPage>('/api/v1/runs')
      expect(body.page).toEqual({ limit: 100, next_cursor: null })
      expect(body.meta).toEqual({ request_id: anyString(), api_latency_ms: anyNumber() })
      expect(ids(body)).toEqual([failed.id, imported.id])
      expect(body.data[0]).toEqual({
        id: failed.id,
        source: 'coingecko',
        trigger: 'schedule',
        status: 'failed',
        started_at: '2026-02-01T10:00:00.000Z',
        finished_at: '2026-02-01T10:00:01.500Z',
        duration_ms: 1500,
        batch_count: 1,
        extracted: 250,
        loaded: 0,
        unchanged: 0,
        rejected: 0,
        error_code: 'SOURCE_TIMEOUT',
        error_message: 'no answer in time',
        started_by: null,
      })
      expect(body.data[1]).toEqual({
        id: imported.id,
        source: 'csv',
        trigger: 'cli',
        status: 'succeeded',
        started_at: matching(ISO_TIME),
        finished_at: matching(ISO_TIME),
        duration_ms: anyNumber(),
        batch_count: 1,
        extracted: 8,
        loaded: 8,
        unchanged: 0,
        rejected: 0,
        error_code: null,
        error_message: null,
        started_by: null,
      })
      expect(Object.keys(body.data[1]!).sort()).toEqual(RUN_ITEM_KEYS)
    })

    it('filters by source, status, trigger and started_at, from inclusive and to exclusive', async () => {
      await start()
      const db = api.test.db.kysely
      const a = await seedRun(db, {
        source: 'csv',
        status: 'succeeded',
        startedAt: '2026-01-01T00:00:00.000Z',
      })
      const b = await seedRun(db, {
        source: 'coingecko',
        trigger: 'schedule',
        status: 'failed',
        startedAt: '2026-01-02T00:00:00.000Z',
      })
      const c = await seedRun(db, {
        source: 'coinpaprika',
        trigger: 'api',
        status: 'partial',
        startedAt: '2026-01-03T00:00:00.000Z',
      })
      const d = await seedRun(db, {
        source: 'csv',
        trigger: 'replay',
        status: 'running',
        startedAt: '2026-01-04T12:30:00.000Z',
      })

      expect(ids(await get('/api/v1/runs?source=csv'))).toEqual([d.id, a.id])
      expect(ids(await get('/api/v1/runs?source=coinpaprika'))).toEqual([c.id])
      expect(ids(await get('/api/v1/runs?status=failed'))).toEqual([b.id])
      expect(ids(await get('/api/v1/runs?status=running'))).toEqual([d.id])
      expect(ids(await get('/api/v1/runs?status=succeeded'))).toEqual([a.id])
      expect(ids(await get('/api/v1/runs?trigger=api'))).toEqual([c.id])
      expect(ids(await get('/api/v1/runs?trigger=replay'))).toEqual([d.id])
      expect(ids(await get('/api/v1/runs?trigger=start'))).toEqual([])
      expect(ids(await get('/api/v1/runs?from=2026-01-02'))).toEqual([d.id, c.id, b.id])
      expect(ids(await get('/api/v1/runs?to=2026-01-03T00:00:00Z'))).toEqual([b.id, a.id])
      expect(ids(await get('/api/v1/runs?from=2026-01-02&to=2026-01-04'))).toEqual([c.id, b.id])
      expect(ids(await get('/api/v1/runs?from=2026-01-04T12:30:00Z'))).toEqual([d.id])
      expect(
        ids(await get('/api/v1/runs?source=csv&status=succeeded&from=2026-01-01&to=2026-01-02')),
      ).toEqual([a.id])
    })

    it('returns every run exactly once when walking pages, keeping the filter', async () => {
      await start()
      const db = api.test.db.kysely
      const seeded: number[] = []
      for (let i = 0; i < 7; i++) {
        const source = i % 3 === 0 ? 'coingecko' : 'csv'
        seeded.push((await seedRun(db, { source, status: 'succeeded' })).id)
      }

      const walk = async (query: string) => {
        const pages: RunPage[] = []
        let url = `/api/v1/runs?${query}`
        for (;;) {
          const body = await get<RunPage>(url)
          pages.push(body)
          if (body.page.next_cursor === null || pages.length > 10) return pages
          url = `/api/v1/runs?${query}&cursor=${encodeURIComponent(body.page.next_cursor)}`
        }
      }
      const all = await walk('limit=3')
      expect(all.map((p) => p.data.length)).toEqual([3, 3, 1])
      expect(all.every((p) => p.page.limit === 3)).toBe(true)
      expect(all.flatMap(ids)).toEqual([...seeded].reverse())

      const csv = await walk('limit=2&source=csv')
      expect(csv.map((p) => p.data.length)).toEqual([2, 2])
      expect(csv.flatMap(ids)).toEqual(seeded.filter((_, i) => i % 3 !== 0).reverse())
    })

    it.each([
      ['source=manual', 'source'],
      ['source=nope', 'source'],
      ['status=done', 'status'],
      ['trigger=cron', 'trigger'],
      ['from=yesterday', 'from'],
      ['to=2026-13-01', 'to'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from(JSON.stringify(['asc', 3])).toString('base64url')}`, 'cursor'],
      ['order=asc', 'order'],
    ])('answers 400 problem naming the parameter for %s', async (query, field) => {
      await start()
      expectProblem(await api.app.inject({ method: 'GET', url: `/api/v1/runs?${query}` }), 400, field)
    })
  })

  describe('GET /api/v1/runs/{id}', () => {
    it('answers the run with its batches, rejections by reason, schema changes and checkpoints', async () => {
      await start({ CSV_BATCH_ROWS: '3' })
      const run = await importCsv(api.ctx, BAD_ROWS_CSV)
      expect(run).toMatchObject({ status: 'succeeded', extracted: 7, loaded: 2, rejected: 5 })
      const other = await importCsv(api.ctx, 'date,symbol,price_usd\n2024-03-01,BTC,-1\n')
      await insertSchemaChanges(api.test.db.kysely, [
        {
          source: 'csv',
          stream: 'file',
          field: 'volume',
          change: 'added',
          detail: JSON.stringify({ message: 'volume is new' }),
          runId: run.id,
          rawBatchId: null,
          detectedAt: '2026-01-01T00:00:00.000Z',
        },
        {
          source: 'csv',
          stream: 'file',
          field: 'cap',
          change: 'removed',
          detail: JSON.stringify({ message: 'cap is gone' }),
          runId: other.id,
          rawBatchId: null,
          detectedAt: '2026-01-01T00:00:00.000Z',
        },
      ])

      const body = await get<RunDetail>(`/api/v1/runs/${run.id}`)
      expect(body).toMatchObject({
        id: run.id,
        source: 'csv',
        trigger: 'cli',
        status: 'succeeded',
        started_at: run.startedAt,
        finished_at: run.finishedAt,
        duration_ms: run.durationMs,
        heartbeat_at: matching(ISO_TIME),
        batch_count: 3,
        extracted: 7,
        loaded: 2,
        unchanged: 0,
        rejected: 5,
        error_code: null,
        error_message: null,
      })
      expect(body.batches.map((b) => [b.status, b.row_count, b.error_code])).toEqual([
        ['loaded', 3, null],
        ['loaded', 3, null],
        ['loaded', 1, null],
      ])
      for (const batch of body.batches) {
        expect(batch).toEqual({
          id: anyNumber(),
          stream: anyString(),
          status: 'loaded',
          row_count: anyNumber(),
          error_code: null,
          error_message: null,
          created_at: matching(ISO_TIME),
          loaded_at: matching(ISO_TIME),
        })
      }
      expect(body.rejections_by_reason).toEqual([
        { reason_code: 'CSV_COLUMN_COUNT', count: 1 },
        { reason_code: 'CSV_CONFLICTING_DUPLICATE', count: 1 },
        { reason_code: 'CSV_DATE_INVALID', count: 1 },
        { reason_code: 'CSV_PRICE_INVALID', count: 1 },
        { reason_code: 'CSV_SYMBOL_MISSING', count: 1 },
      ])
      expect(body.schema_changes.map((c) => [c.field, c.change, c.run_id])).toEqual([
        ['volume', 'added', run.id],
      ])
      // The stream's checkpoint, as the CSV stream wrote it: an object per stream.
      const stream = body.batches[0]!.stream
      expect(body.checkpoint_before).toEqual({ [stream]: null })
      expect(body.checkpoint_after).toEqual({
        [stream]: expect.objectContaining({ line: 7, columns: ['date', 'symbol', 'price_usd'] }) as unknown,
      })
      expect(JSON.stringify(body)).not.toContain('2024-01-01,BTC,42000')
    })

    it('lists the rejections of one reason as one entry, most frequent first', async () => {
      await start()
      const run = await importCsv(
        api.ctx,
        'date,symbol,price_usd\n2024-01-01,BTC,1\nx,ETH,1\ny,SOL,1\n2024-01-01,,1\nz,ADA,1\n',
      )
      const body = await get<RunDetail>(`/api/v1/runs/${run.id}`)
      expect(body.rejections_by_reason).toEqual([
        { reason_code: 'CSV_DATE_INVALID', count: 3 },
        { reason_code: 'CSV_SYMBOL_MISSING', count: 1 },
      ])
    })

    it('answers a run that is still going with null ending and empty lists', async () => {
      await start()
      const running = await seedRun(api.test.db.kysely, { source: 'coingecko', status: 'running', loaded: 4 })
      const body = await get<RunDetail>(`/api/v1/runs/${running.id}`)
      expect(body).toMatchObject({
        status: 'running',
        finished_at: null,
        duration_ms: null,
        loaded: 4,
        checkpoint_before: null,
        checkpoint_after: null,
        batches: [],
        rejections_by_reason: [],
        schema_changes: [],
      })
    })

    it('answers 404 problem for a run that does not exist', async () => {
      await start()
      const body = expectProblem(await api.app.inject({ method: 'GET', url: '/api/v1/runs/999' }), 404)
      expect(body.code).toBe('NOT_FOUND')
    })

    it.each(['abc', '0', '1.5'])('answers 400 problem naming id for /api/v1/runs/%s', async (id) => {
      await start()
      expectProblem(await api.app.inject({ method: 'GET', url: `/api/v1/runs/${id}` }), 400, 'id')
    })
  })

  describe('POST /api/v1/runs', () => {
    it('starts a run (202 with its Location), which then finishes on its own', async () => {
      await start({ CSV_PATHS: writeCsv(csvText(40)) })
      const response = await post({ source: 'csv' })
      expect(response.statusCode, response.body).toBe(202)
      const run = response.json<RunItem>()
      expect(run).toMatchObject({ id: anyNumber(), source: 'csv', trigger: 'api', status: 'running' })
      expect(run.started_by).toMatch(/^key:[0-9a-f]{32}$/)
      expect(Object.keys(run).sort()).toEqual(RUN_ITEM_KEYS)
      expect(response.headers.location).toBe(`/api/v1/runs/${run.id}`)

      const finished = await waitFor(
        async () => {
          const body = await get<RunDetail>(response.headers.location as string)
          return body.status !== 'running' && body
        },
        { what: 'the run started over the API to finish' },
      )
      expect(finished).toMatchObject({ id: run.id, status: 'succeeded', loaded: 40, trigger: 'api' })
      expect(await api.test.count('records')).toBe(40)
    })

    it('answers exactly one 202 and one 409 to two simultaneous starts of one source', async () => {
      await start({ CSV_PATHS: writeCsv(csvText(2000)) })
      const responses = await Promise.all([post({ source: 'csv' }), post({ source: 'csv' })])
      expect(responses.map((r) => r.statusCode).sort()).toEqual([202, 409])
      const refused = responses.find((r) => r.statusCode === 409)!
      expect(expectProblem(refused, 409).code).toBe('RUN_ALREADY_RUNNING')
      const started = responses.find((r) => r.statusCode === 202)!.json<RunItem>()
      await waitFor(async () => (await get<RunItem>(`/api/v1/runs/${started.id}`)).status !== 'running', {
        what: 'the run to finish',
      })
      expect(await api.test.count('etlRuns')).toBe(1)
    })

    it('answers 409 while a run of the source is going, and starts nothing', async () => {
      await start({ CSV_PATHS: writeCsv(csvText(4)) })
      const going = await seedRun(api.test.db.kysely, { source: 'csv', status: 'running' })
      const refused = expectProblem(await post({ source: 'csv' }), 409)
      expect(refused.code).toBe('RUN_ALREADY_RUNNING')
      expect((await get<RunPage>('/api/v1/runs')).data.map((r) => [r.id, r.status])).toEqual([
        [going.id, 'running'],
      ])
    })

    it('starts a source that is known but not enabled', async () => {
      await start({ SOURCES: 'coingecko', CSV_PATHS: writeCsv(csvText(4)) })
      const response = await post({ source: 'csv' })
      expect(response.statusCode, response.body).toBe(202)
      const id = response.json<RunItem>().id
      const finished = await waitFor(
        async () => {
          const body = await get<RunItem>(`/api/v1/runs/${id}`)
          return body.status !== 'running' && body
        },
        { what: 'the run to finish' },
      )
      expect(finished.status).toBe('succeeded')
    })

    it('answers 400 SOURCE_UNKNOWN naming source for a source this build cannot run', async () => {
      const unavailable = (name: string): never => {
        throw new SourceUnavailableError(name, ['csv'])
      }
      const registry: SourceRegistry = {
        available: ['csv'],
        check: unavailable,
        get: unavailable,
        close: () => Promise.resolve(),
      }
      await start({}, registry)
      const body = expectProblem(await post({ source: 'coinpaprika' }), 400, 'source')
      expect(body.code).toBe('SOURCE_UNKNOWN')
      expect(await api.test.count('etlRuns')).toBe(0)
    })

    it('answers 401 without a key and starts nothing', async () => {
      await start({ CSV_PATHS: writeCsv(csvText(4)) })
      expectProblem(await post({ source: 'csv' }, {}), 401)
      expectProblem(await post({ source: 'csv' }, { 'x-api-key': 'wrong-key-0123456789' }), 401)
      expect(await api.test.count('etlRuns')).toBe(0)
    })

    it.each([
      [{}, 'source'],
      [{ source: 'nope' }, 'source'],
      [{ source: 'manual' }, 'source'],
      [{ source: 1 }, 'source'],
      [{ source: 'csv', files: ['/etc/passwd'] }, 'files'],
    ])('answers 400 problem naming the field for body %j', async (payload, field) => {
      await start()
      expectProblem(await post(payload), 400, field)
      expect(await api.test.count('etlRuns')).toBe(0)
    })
  })

  describe('GET /api/v1/runs/compare', () => {
    const compare = async (base: number, head: number) =>
      get<Comparison>(`/api/v1/runs/compare?base=${base}&head=${head}`)
    const codes = (c: Comparison) => c.anomalies.map((a) => a.code)

    it('flags every anomaly between a clean run and a broken one, with deltas', async () => {
      await start()
      const db = api.test.db.kysely
      const base = await seedRun(db, {
        source: 'coingecko',
        status: 'succeeded',
        durationMs: 1000,
        extracted: 200,
        loaded: 150,
        unchanged: 50,
        rejected: 0,
      })
      const head = await seedRun(db, {
        source: 'coingecko',
        status: 'failed',
        durationMs: 2500,
        extracted: 100,
        rejected: 10,
        errorCode: 'SOURCE_BAD_RESPONSE',
      })

      const body = await compare(base.id, head.id)
      expect(body).toMatchObject({
        source: 'coingecko',
        base: { id: base.id, status: 'succeeded', records: 200, rejection_rate_pct: 0 },
        head: {
          id: head.id,
          status: 'failed',
          records: 0,
          rejection_rate_pct: 10,
          error_code: 'SOURCE_BAD_RESPONSE',
        },
        delta: {
          records: -200,
          records_pct: -100,
          duration_ms: 1500,
          duration_pct: 150,
          rejected: 10,
          rejection_rate_pts: 10,
          extracted: -100,
        },
        thresholds: { record_swing_pct: 50, duration_swing_pct: 100, rejection_jump_pts: 5 },
      })
      expect(codes(body)).toEqual([
        'RECORD_COUNT_SWING',
        'DURATION_SWING',
        'STATUS_REGRESSION',
        'ZERO_RECORDS',
        'REJECTION_RATE_JUMP',
      ])
      for (const anomaly of body.anomalies) expect(anomaly.message).toEqual(anyString())
    })

    it('flags nothing between two similar runs, and nothing the other way round after a recovery', async () => {
      await start()
      const db = api.test.db.kysely
      const a = await seedRun(db, {
        status: 'failed',
        durationMs: 1000,
        extracted: 100,
        loaded: 90,
        rejected: 10,
      })
      const b = await seedRun(db, { status: 'succeeded', durationMs: 1200, extracted: 100, loaded: 100 })
      expect(codes(await compare(a.id, b.id))).toEqual([])
      expect((await compare(b.id, b.id)).delta).toEqual({
        records: 0,
        records_pct: 0,
        duration_ms: 0,
        duration_pct: 0,
        rejected: 0,
        rejection_rate_pts: 0,
        extracted: 0,
      })
    })

    it('uses the thresholds from the configuration', async () => {
      await start({ RUN_COMPARE_RECORD_SWING_PCT: '10' })
      const db = api.test.db.kysely
      const base = await seedRun(db, { status: 'succeeded', extracted: 100, loaded: 100 })
      const head = await seedRun(db, { status: 'succeeded', extracted: 120, loaded: 120 })
      const body = await compare(base.id, head.id)
      expect(body.thresholds.record_swing_pct).toBe(10)
      expect(codes(body)).toEqual(['RECORD_COUNT_SWING'])
    })

    it('compares two real imports: fewer records and more rejections are flagged', async () => {
      await start()
      const base = await importCsv(api.ctx, csvText(40))
      const head = await importCsv(api.ctx, 'date,symbol,price_usd\n2024-05-01,BTC,1\n2024-05-01,,2\n')
      const body = await compare(base.id, head.id)
      expect(body.base).toMatchObject({ records: 40, rejection_rate_pct: 0 })
      expect(body.head).toMatchObject({ records: 1, rejection_rate_pct: 50 })
      expect(body.delta).toMatchObject({ records: -39, records_pct: -97.5, rejection_rate_pts: 50 })
      // Durations of real runs vary from one machine to the next; only the count flags are asserted.
      expect(codes(body).filter((c) => c !== 'DURATION_SWING')).toEqual([
        'RECORD_COUNT_SWING',
        'REJECTION_RATE_JUMP',
      ])
    })

    it('answers 404 problem when either run does not exist', async () => {
      await start()
      const run = await seedRun(api.test.db.kysely, { status: 'succeeded' })
      for (const query of [`base=${run.id}&head=999`, `base=999&head=${run.id}`]) {
        const response = await api.app.inject({ method: 'GET', url: `/api/v1/runs/compare?${query}` })
        expect(expectProblem(response, 404).detail).toContain('999')
      }
    })

    it('answers 400 naming head for runs of two sources', async () => {
      await start()
      const db = api.test.db.kysely
      const base = await seedRun(db, { source: 'csv', status: 'succeeded' })
      const head = await seedRun(db, { source: 'coingecko', status: 'succeeded' })
      const response = await api.app.inject({
        method: 'GET',
        url: `/api/v1/runs/compare?base=${base.id}&head=${head.id}`,
      })
      expectProblem(response, 400, 'head')
    })

    it('answers 409 RUN_NOT_FINISHED while either run is still going', async () => {
      await start()
      const db = api.test.db.kysely
      const done = await seedRun(db, { status: 'succeeded' })
      const going = await seedRun(db, { status: 'running' })
      for (const query of [`base=${done.id}&head=${going.id}`, `base=${going.id}&head=${done.id}`]) {
        const response = await api.app.inject({ method: 'GET', url: `/api/v1/runs/compare?${query}` })
        expect(expectProblem(response, 409).code).toBe('RUN_NOT_FINISHED')
      }
    })

    it.each([
      ['head=1', 'base'],
      ['base=1', 'head'],
      ['base=x&head=1', 'base'],
      ['base=1&head=0', 'head'],
      ['base=1&head=2&source=csv', 'source'],
    ])('answers 400 problem naming the parameter for %s', async (query, field) => {
      await start()
      expectProblem(await api.app.inject({ method: 'GET', url: `/api/v1/runs/compare?${query}` }), 400, field)
    })
  })

  it('documents every run, stats, schema-change and batch route in the OpenAPI document', async () => {
    await start()
    const response = await api.app.inject({ method: 'GET', url: '/openapi.json' })
    const paths = response.json<{ paths: Record<string, Record<string, { tags?: string[] }>> }>().paths
    expect(Object.keys(paths['/api/v1/runs'] ?? {}).sort()).toEqual(['get', 'post'])
    expect(paths['/api/v1/runs/{id}']?.get?.tags).toEqual(['runs'])
    expect(paths['/api/v1/runs/compare']?.get?.tags).toEqual(['runs'])
    expect(paths['/api/v1/stats']?.get?.tags).toEqual(['operations'])
    expect(paths['/api/v1/schema-changes']?.get?.tags).toEqual(['data quality'])
    expect(paths['/api/v1/batches/{id}']).toHaveProperty('get')
    expect(paths['/api/v1/batches/{id}/replay']).toHaveProperty('post')
  })

  it('guards the run, stats, schema-change and batch reads when read keys are required', async () => {
    await start({ API_READ_KEYS_REQUIRED: 'true' })
    for (const url of ['/api/v1/runs', '/api/v1/runs/1', '/api/v1/stats', '/api/v1/schema-changes']) {
      expectProblem(await api.app.inject({ method: 'GET', url }), 401)
    }
    const withKey = await api.app.inject({ method: 'GET', url: '/api/v1/runs', headers: WITH_KEY })
    expect(withKey.statusCode).toBe(200)
  })
})
