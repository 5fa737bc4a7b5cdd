import fc from 'fast-check'
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listAppRoutes } from '../helpers/app-routes.js'
import { type ApiFixture, importCsv, startApi, WITH_KEY } from '../helpers/api-fixture.js'
import { csvText } from '../helpers/pipeline-fixture.js'
import {
  type FuzzBody,
  OFFLINE_SOURCES,
  pathValue,
  queryString,
  requestBody,
} from '../helpers/request-arbitraries.js'
import { DIALECTS } from '../helpers/test-database.js'

/**
 * Every route of the app, fed hostile path parameters, query strings and bodies with a valid write
 * key: nothing may answer 5xx, every answer carries an x-request-id, and every 4xx must be a
 * problem document with its own status.
 * FUZZ_SEED and FUZZ_RUNS replay a failure or search longer (fast-check prints the seed and path).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_125)
const RUNS = Number(process.env.FUZZ_RUNS ?? 150)

/** No upstream reachable and no CSV file: a run started by the fuzzer fails at once, offline. */
const OFFLINE = { API_RATE_LIMIT: 'off', ...OFFLINE_SOURCES }

// The route list is read from a built app, so routes added later are fuzzed without editing this file.
const probe = await startApi('sqlite', OFFLINE)
const ROUTES = listAppRoutes(probe.app)
const DOCUMENTED = documentedRoutes(
  probe.app.swagger() as { paths?: Record<string, Record<string, unknown>> },
)
await probe.close()

interface Problem {
  type: unknown
  title: unknown
  status: unknown
  detail: unknown
  code: unknown
  errors?: { field: unknown; in: unknown; message: unknown }[]
}

function expectSafeAnswer(response: LightMyRequestResponse, what: string): void {
  const context = `${what} → ${response.statusCode} ${response.body.slice(0, 500)}`
  expect(response.statusCode, context).toBeLessThan(500)
  expect(response.headers['x-request-id'], `x-request-id of ${context}`).toEqual(expect.any(String))
  if (response.statusCode >= 400) {
    expect(response.headers['content-type'], context).toMatch(/^application\/problem\+json/)
    const problem = response.json<Problem>()
    expect(problem.status, context).toBe(response.statusCode)
    for (const field of ['type', 'title', 'detail', 'code'] as const)
      expect(typeof problem[field], `${field} in ${context}`).toBe('string')
    if (problem.code === 'VALIDATION_FAILED') {
      expect(problem.errors?.length, context).toBeGreaterThan(0)
      for (const error of problem.errors ?? []) expect(typeof error.field, context).toBe('string')
    }
  }
  expect(({} as Record<string, unknown>).polluted, `prototype polluted by ${what}`).toBeUndefined()
}

describe.each(DIALECTS)('fuzzing every route on %s', (dialect) => {
  let api: ApiFixture
  beforeAll(async () => {
    api = await startApi(dialect, OFFLINE)
    // Rows behind ids 1–5, so fuzzed ids and cursors also reach the found-it paths.
    await importCsv(api.ctx, csvText(20) + 'not-a-date,BTC,1,1\n2024-01-01,ETH,x,1\n')
  })
  afterAll(() => api.close())

  it('finds the routes to fuzz, hidden ones included', () => {
    const names = ROUTES.map((r) => `${r.method} ${r.path}`)
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /',
        'GET /docs/*',
        'GET /openapi.json',
        'GET /health',
        'GET /api/v1/records',
        'POST /api/v1/records',
        'GET /api/v1/records/:id',
        'POST /api/v1/runs',
        'POST /api/v1/batches/:id/replay',
      ]),
    )
    for (const name of DOCUMENTED) expect(names, 'every documented route is fuzzed').toContain(name)
  })

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    'never answers 5xx, and answers every 4xx as a problem, to %s',
    async (_name, route) => {
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(...route.pathParams.map(pathValue)),
          queryString(route),
          route.method === 'GET'
            ? fc.constant<FuzzBody>({ contentType: undefined, payload: undefined })
            : requestBody(route),
          async (params, query, { contentType, payload }) => {
            let i = 0
            const path = route.path.replace(/:\w+|\*/g, () => params[i++] ?? '')
            const url = query === '' ? path : `${path}?${query}`
            const response = await api.app.inject({
              method: route.method as 'GET',
              url,
              headers: { ...WITH_KEY, ...(contentType === undefined ? {} : { 'content-type': contentType }) },
              ...(payload === undefined ? {} : { payload }),
            })
            expectSafeAnswer(response, `${route.method} ${url} ${payload?.slice(0, 300) ?? ''}`)
          },
        ),
        { seed: SEED, numRuns: RUNS },
      )
    },
    120_000,
  )
})

/** `METHOD /path/:param` of every operation in an OpenAPI document. */
function documentedRoutes(document: { paths?: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
  )
}
