import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { buildApp, type App } from '../../src/api/build-app.js'
import type { EtlRunRow } from '../../src/db/schema.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import { pipelineContext, testConfig, writeCsv } from './pipeline-fixture.js'
import { createTestDatabase, type DialectName, type TestDatabase } from './test-database.js'

/** A write key that passes config validation (≥ 16 characters). */
export const API_KEY = 'k-0123456789abcdef'

/** The headers that carry the write key. */
export const WITH_KEY = { authorization: `Bearer ${API_KEY}` }

export interface ApiFixture {
  readonly test: TestDatabase
  readonly ctx: PipelineContext
  readonly app: App
  /** Closes the app, then drops the database. */
  close(): Promise<void>
}

/**
 * A fresh migrated database and the whole API over it, not listening; `env` overrides the config and
 * `pipeline` parts of the pipeline context (a source registry of test sources, say).
 */
export async function startApi(
  dialect: DialectName,
  env: Record<string, string> = {},
  pipeline: Partial<PipelineContext> = {},
): Promise<ApiFixture> {
  const test = await createTestDatabase(dialect)
  const { app, ctx } = await buildTestApp(test, env, pipeline)
  return {
    test,
    ctx,
    app,
    async close() {
      await app.close()
      await test.destroy()
    },
  }
}

/** The API over an existing test database; API_KEYS is set unless `env` says otherwise. */
export async function buildTestApp(
  test: TestDatabase,
  env: Record<string, string> = {},
  pipeline: Partial<PipelineContext> = {},
): Promise<{ app: App; ctx: PipelineContext }> {
  const vars = { DATABASE_URL: test.url, API_KEYS: API_KEY, ...env }
  const ctx = { ...pipelineContext(test, vars), ...pipeline }
  const app = await buildApp(testConfig(vars), ctx)
  await app.ready()
  return { app, ctx }
}

/** A body for `POST /api/v1/records`; every field can be overridden or removed with `undefined`. */
export function aRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    symbol: 'BTC',
    name: 'Bitcoin',
    observed_at: '2024-03-01T12:00:00Z',
    price_usd: 61_000.5,
    ...overrides,
  }
  for (const key of Object.keys(body)) if (body[key] === undefined) delete body[key]
  return body
}

/** Imports `text` as a CSV file through the real pipeline and returns the finished run. */
export function importCsv(ctx: PipelineContext, text: string): Promise<EtlRunRow> {
  return runSource(ctx, 'csv', { trigger: 'cli', files: [writeCsv(text)] })
}

/** `POST /api/v1/records` with the write key. */
export function postRecord(app: App, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/v1/records', headers: WITH_KEY, payload: body })
}

/** `expect.any(Number)` typed as what it matches, so object literals of matchers stay type-safe. */
export const anyNumber = (): number => expect.any(Number) as number
export const anyString = (): string => expect.any(String) as string
export const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  code: string
  request_id: string
  errors?: { field: string; in: string; message: string }[]
}

/**
 * Asserts an RFC 9457 problem answer with `status` (and, when given, an `errors[]` entry naming
 * `field`) that leaks no stack trace or SQL; returns the parsed body.
 */
export function expectProblem(response: LightMyRequestResponse, status: number, field?: string): ProblemBody {
  expect(response.statusCode, response.body).toBe(status)
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  expect(response.headers['x-request-id']).toEqual(anyString())
  const body = response.json<ProblemBody>()
  expect(body).toMatchObject({ type: anyString(), title: anyString(), status, detail: anyString() })
  expect(body.detail.length).toBeGreaterThan(0)
  expectNoInternals(response.body)
  if (field !== undefined) {
    expect(
      body.errors?.some((e) => e.field === field && typeof e.message === 'string' && e.message !== ''),
      response.body,
    ).toBe(true)
  }
  return body
}

/** No stack frame, source path or SQL statement in a response body. */
export function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/\s+at (async )?[\w$.<>]+ \(|[\w/-]+\.[cm]?[jt]s:\d+|node_modules|file:\/\//)
  expect(text).not.toMatch(/\bselect\b.+\bfrom\b|\binsert into\b|\bupdate\s+"?\w+"?\s+set\b|\bdelete from\b/i)
  expect(text).not.toMatch(/SQLITE_|sqlite3|syntax error|relation "/i)
}
