import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import {
  anyNumber,
  type ApiFixture,
  expectProblem,
  ISO_TIME,
  matching,
  startApi,
  WITH_KEY,
} from '../helpers/api-fixture.js'
import { PAGES, pagedRegistry } from '../helpers/paged-source.js'
import { seedRun } from '../helpers/run-seed.js'
import { DIALECTS } from '../helpers/test-database.js'

interface ReplayAnswer {
  batch_id: number
  outcome: string
  run?: {
    id: number
    source: string
    trigger: string
    status: string
    loaded: number
    error_code: string | null
  }
  error_code?: string
  error_message?: string
}

interface BatchAnswer {
  id: number
  run_id: number | null
  source: string
  stream: string
  status: string
  row_count: number
  payload_sha256: string
  meta: Record<string, unknown> | null
  cursor_before: Record<string, unknown> | null
  cursor_after: Record<string, unknown> | null
  error_code: string | null
  error_message: string | null
  created_at: string
  loaded_at: string | null
  payload?: string
}

describe.each(DIALECTS)('raw batches and their replay on %s', (dialect) => {
  let api: ApiFixture
  const state = { fixed: false }
  /** The run made before each test, and the id of its batch that failed. */
  let firstRunId: number
  let failedId: number
  beforeEach(async () => {
    state.fixed = false
    api = await startApi(dialect, {}, { sources: pagedRegistry(state) })
    const run = await runSource(api.ctx, 'coingecko', { trigger: 'cli' })
    expect(run).toMatchObject({ status: 'partial', errorCode: 'BATCH_FAILED', loaded: 3 })
    firstRunId = run.id
    const failed = await api.test.db.kysely
      .selectFrom('rawBatches')
      .select('id')
      .where('status', '=', 'failed')
      .executeTakeFirstOrThrow()
    failedId = failed.id
  })
  afterEach(() => api.close())

  const replay = (id: number | string, headers: Record<string, string> = WITH_KEY) =>
    api.app.inject({ method: 'POST', url: `/api/v1/batches/${id}/replay`, headers })
  const replayed = async (id: number): Promise<ReplayAnswer> => {
    const response = await replay(id)
    expect(response.statusCode, response.body).toBe(200)
    return response.json<ReplayAnswer>()
  }
  const batch = async (query = ''): Promise<BatchAnswer> => {
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/batches/${failedId}${query}` })
    expect(response.statusCode, response.body).toBe(200)
    return response.json<BatchAnswer>()
  }

  it('loads a failed batch exactly once after its transform is fixed, then says it is already loaded', async () => {
    const stillBroken = await replayed(failedId)
    expect(stillBroken).toEqual({
      batch_id: failedId,
      outcome: 'failed',
      run: expect.objectContaining({
        trigger: 'replay',
        status: 'failed',
        error_code: 'TEST_PAYLOAD_BROKEN',
      }) as unknown,
      error_code: 'TEST_PAYLOAD_BROKEN',
      error_message: 'page 2 is broken',
    })
    expect(await api.test.count('records')).toBe(3)

    state.fixed = true
    const loaded = await replayed(failedId)
    expect(loaded).toEqual({
      batch_id: failedId,
      outcome: 'loaded',
      run: expect.objectContaining({
        id: anyNumber(),
        source: 'coingecko',
        trigger: 'replay',
        status: 'succeeded',
        loaded: 2,
        error_code: null,
      }) as unknown,
    })
    expect(await api.test.count('records')).toBe(5)
    const runResponse = await api.app.inject({ method: 'GET', url: `/api/v1/runs/${loaded.run!.id}` })
    expect(runResponse.json()).toMatchObject({ trigger: 'replay', status: 'succeeded', loaded: 2 })

    expect(await replayed(failedId)).toEqual({ batch_id: failedId, outcome: 'already_loaded' })
    expect(await api.test.count('records')).toBe(5)
    expect(await api.test.count('etlRuns')).toBe(3)
    expect(await batch()).toMatchObject({ status: 'loaded', error_code: null, loaded_at: matching(ISO_TIME) })
  })

  it('answers 409 while a run of the batch’s source is going, and leaves the batch failed', async () => {
    state.fixed = true
    await seedRun(api.test.db.kysely, { source: 'coingecko', status: 'running' })
    const body = expectProblem(await replay(failedId), 409)
    expect(body.code).toBe('RUN_ALREADY_RUNNING')
    expect((await batch()).status).toBe('failed')
    expect(await api.test.count('records')).toBe(3)
  })

  it('answers 401 without a key and replays nothing', async () => {
    state.fixed = true
    expectProblem(await replay(failedId, {}), 401)
    expect((await batch()).status).toBe('failed')
    expect(await api.test.count('etlRuns')).toBe(1)
  })

  it('answers 404 problem for a batch that does not exist', async () => {
    const body = expectProblem(await replay(9999), 404)
    expect(body.code).toBe('NOT_FOUND')
    expectProblem(await api.app.inject({ method: 'GET', url: '/api/v1/batches/9999' }), 404)
    expectProblem(await api.app.inject({ method: 'GET', url: '/api/v1/batches/9999?include=payload' }), 404)
  })

  it.each(['abc', '0', '-1'])('answers 400 problem naming id for batch %s', async (id) => {
    expectProblem(await replay(id), 400, 'id')
    expectProblem(await api.app.inject({ method: 'GET', url: `/api/v1/batches/${id}` }), 400, 'id')
  })

  it('shows a batch without its payload, with its error, cursors and meta', async () => {
    const body = await batch()
    expect(body).toEqual({
      id: failedId,
      run_id: firstRunId,
      source: 'coingecko',
      stream: 'markets',
      status: 'failed',
      row_count: 2,
      payload_sha256: matching(/^[0-9a-f]{64}$/),
      meta: { page: 2 },
      cursor_before: { page: 1 },
      cursor_after: { page: 2 },
      error_code: 'TEST_PAYLOAD_BROKEN',
      error_message: 'page 2 is broken',
      created_at: matching(ISO_TIME),
      loaded_at: null,
      added_by: null,
    })
  })

  it('adds the raw payload, verbatim, with include=payload', async () => {
    const body = await batch('?include=payload')
    expect(body.payload).toBe(JSON.stringify(PAGES[1]))
    expect(body).toMatchObject({ id: failedId, status: 'failed' })
  })

  it.each([
    ['include=everything', 'include'],
    ['with=payload', 'with'],
  ])('answers 400 problem naming the parameter for %s', async (query, field) => {
    expectProblem(
      await api.app.inject({ method: 'GET', url: `/api/v1/batches/${failedId}?${query}` }),
      400,
      field,
    )
  })
})
