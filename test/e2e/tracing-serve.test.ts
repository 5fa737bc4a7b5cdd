import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { cliEnv, killStartedProcesses, logLines, startCli, type StartedProcess } from '../helpers/cli.js'
import {
  ancestry,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../helpers/otlp-receiver.js'
import { connectRedis, deleteKeys, isRedisReachable, uniquePrefix } from '../helpers/shared-redis.js'
import { TEST_REDIS_URL } from '../helpers/shared-redis.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const API_KEY = 'k-tracing-serve-0123'

let dir: string
let receiver: OtlpReceiver
let test: TestDatabase

afterEach(async () => {
  await killStartedProcesses()
  await receiver.close()
  await test.destroy()
  rmSync(dir, { recursive: true, force: true })
})

const startTraced = (command: 'serve' | 'worker', vars: Record<string, string>) =>
  startCli([command], {
    cwd: dir,
    env: cliEnv({
      DATABASE_URL: test.url,
      SOURCES: 'csv',
      API_KEYS: API_KEY,
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      ...vars,
    }),
  })

/** The API's base URL once `serve` says it is serving. */
const servingAt = async (serve: StartedProcess): Promise<string> => {
  const line = await waitFor(
    () => {
      if (serve.exitedYet()) throw new Error(`coinpipe serve exited early:\n${serve.stderr()}`)
      return logLines(serve.stdout()).find((l) => l.msg === 'coinpipe is serving')
    },
    { what: 'coinpipe serve to listen', timeoutMs: 30_000 },
  )
  return line.url as string
}

const startRun = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${url}/api/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
    body: JSON.stringify({ source: 'csv' }),
  })
  expect(response.status).toBe(202)
  return (await response.json()) as { id: number | null; job_id?: string | null }
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex')
const serverSpan = (spans: readonly ReceivedSpan[], requestId: string) =>
  spans.find((s) => s.kind === 'server' && s.attributes['coinpipe.request_id'] === requestId)

describe.each(DIALECTS)('a traced serve on %s', (dialect) => {
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-tracing-serve-'))
    receiver = await startOtlpReceiver()
    test = await createTestDatabase(dialect)
  })

  it('continues the caller trace in a SERVER span per request, which its log line names', async () => {
    // Nothing is exported before SIGTERM: the spans arrive with the flush of the shutdown.
    const serve = startTraced('serve', { PORT: '0', OTEL_BSP_SCHEDULE_DELAY: '600000' })
    const url = await servingAt(serve)
    const [traceId, parentId] = [hex(16), hex(8)]

    const response = await fetch(`${url}/api/v1/records?limit=5&source=csv`, {
      headers: { traceparent: `00-${traceId}-${parentId}-01`, 'x-request-id': 'trace-e2e-read' },
    })
    expect(response.status).toBe(200)
    const missing = await fetch(`${url}/api/v1/runs/999999`, { headers: { 'x-request-id': 'trace-e2e-404' } })
    expect(missing.status).toBe(404)
    const probe = await fetch(`${url}/health`, { headers: { 'x-request-id': 'trace-e2e-probe' } })
    expect(probe.status).toBe(200)
    process.kill(serve.pid, 'SIGTERM')
    expect((await serve.exited).code).toBe(0)

    const spans = receiver.spans()
    const read = serverSpan(spans, 'trace-e2e-read')
    expect(read).toMatchObject({
      name: 'GET /api/v1/records',
      kind: 'server',
      traceId,
      parentSpanId: parentId,
      status: 'unset',
    })
    expect(read!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/v1/records',
      'url.path': '/api/v1/records',
      'http.response.status_code': 200,
    })
    const statements = spans.filter((s) => s.parentSpanId === read!.spanId)
    expect(statements.map((s) => s.attributes['db.collection.name'])).toContain('records')

    expect(serverSpan(spans, 'trace-e2e-404')).toMatchObject({
      name: 'GET /api/v1/runs/:id',
      parentSpanId: undefined,
      attributes: expect.objectContaining({ 'http.response.status_code': 404 }) as unknown,
    })

    // Probes come every few seconds on every replica: they make no traces.
    expect(serverSpan(spans, 'trace-e2e-probe')).toBeUndefined()

    const logged = logLines(serve.stdout()).find(
      (l) => l.msg === 'request completed' && l.request_id === 'trace-e2e-read',
    )
    expect(logged).toMatchObject({ trace_id: traceId, span_id: read!.spanId })
  })

  it('keeps the handler inside its request span when the body arrives after the headers', async () => {
    const serve = startTraced('serve', { PORT: '0', OTEL_BSP_SCHEDULE_DELAY: '100' })
    const url = await servingAt(serve)
    const body = JSON.stringify({ symbol: 'BTC', observed_at: '2024-01-01T00:00:00Z', price_usd: 42000 })

    // The handler runs after the body has come, in events of the socket, long after the request's hooks.
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `${url}/api/v1/records`,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-api-key': API_KEY,
            'x-request-id': 'trace-e2e-slow-body',
          },
        },
        (response) => {
          response.resume()
          resolve(response.statusCode ?? 0)
        },
      )
      request.on('error', reject)
      request.flushHeaders()
      setTimeout(() => request.end(body), 200)
    })

    expect(status).toBe(201)
    const request = await receiver.waitFor(
      (spans) => serverSpan(spans, 'trace-e2e-slow-body'),
      'the request span',
    )
    const insert = await receiver.waitFor(
      (spans) =>
        spans.find(
          (s) =>
            s.attributes['db.operation.name'] === 'INSERT' &&
            s.attributes['db.collection.name'] === 'records',
        ),
      'the INSERT into records',
    )
    expect(insert).toMatchObject({ traceId: request.traceId, parentSpanId: request.spanId })
  })

  it('runs a run started over the API as a child of its request, with the run in its log lines', async () => {
    const serve = startTraced('serve', { PORT: '0', OTEL_BSP_SCHEDULE_DELAY: '100' })
    const url = await servingAt(serve)

    const started = await startRun(url, { 'x-request-id': 'trace-e2e-run' })

    const run = await receiver.waitFor(
      (spans) => spans.find((s) => s.name === 'etl.run' && s.attributes['coinpipe.run_id'] === started.id),
      'the etl.run span',
    )
    const request = serverSpan(receiver.spans(), 'trace-e2e-run')
    expect(request).toMatchObject({ name: 'POST /api/v1/runs', parentSpanId: undefined })
    expect(request!.attributes['http.response.status_code']).toBe(202)
    expect(run).toMatchObject({ traceId: request!.traceId, parentSpanId: request!.spanId })
    expect(run.attributes).toMatchObject({ 'coinpipe.trigger': 'api', 'coinpipe.run.status': 'succeeded' })
    const runLines = logLines(serve.stdout()).filter((l) => l.run_id === started.id)
    expect(runLines.map((l) => l.msg)).toEqual(expect.arrayContaining(['run started', 'run finished']))
    for (const line of runLines) expect(line.trace_id).toBe(run.traceId)
  })
})

/**
 * Queue mode: `serve` enqueues, a `worker` process runs. The trace context travels in the job, so
 * the request on one process and the run on the other are one trace.
 */
describe.skipIf(!DIALECTS.includes('postgres') || !(await isRedisReachable()))(
  'a traced cluster of serve and worker',
  () => {
    let prefix: string
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'coinpipe-tracing-cluster-'))
      receiver = await startOtlpReceiver()
      test = await createTestDatabase('postgres')
      prefix = uniquePrefix()
    })
    afterEach(async () => {
      await killStartedProcesses()
      const redis = await connectRedis('tracing cleanup')
      await deleteKeys(redis, prefix)
      redis.disconnect()
    })

    it("runs the worker's run inside the trace of the request that asked for it", async () => {
      const queue = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, OTEL_BSP_SCHEDULE_DELAY: '100' }
      const serve = startTraced('serve', { PORT: '0', ...queue })
      const worker = startTraced('worker', queue)
      const url = await servingAt(serve)

      await startRun(url, { 'x-request-id': 'trace-e2e-queued' })

      const run = await receiver.waitFor(
        (spans) => spans.find((s) => s.name === 'etl.run' && s.resource['process.pid'] === worker.pid),
        "the worker's etl.run span",
        30_000,
      )
      const request = serverSpan(receiver.spans(), 'trace-e2e-queued')!
      expect(run.traceId).toBe(request.traceId)
      const chain = ancestry(run, receiver.spans())
      expect(chain.map((s) => [s.name, s.kind])).toEqual([
        ['etl.run', 'internal'],
        ['send etl', 'producer'],
        ['POST /api/v1/runs', 'server'],
      ])
      expect(chain[1]!.resource['process.pid']).toBe(serve.pid)
      expect(run.attributes).toMatchObject({ 'coinpipe.trigger': 'api', 'coinpipe.run.status': 'succeeded' })
    })
  },
)
