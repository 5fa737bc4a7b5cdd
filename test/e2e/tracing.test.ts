import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstream/server.js'
import { cliEnv, killStartedProcesses, runCli } from '../helpers/cli.js'
import { PER_PAGE } from '../helpers/live-fixture.js'
import {
  ancestry,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../helpers/otlp-receiver.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

const CSV = [
  'date,symbol,price_usd',
  '2024-01-01,BTC,42000',
  '2024-01-02,BTC,43210.987',
  '2024-01-01,ETH,2300',
  '2024-01-02,ETH,not-a-price',
].join('\n')

/** What a child needs to send its spans to `receiver` as OTLP/JSON. */
const otelEnv = (receiver: OtlpReceiver) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
})

let dir: string
let receiver: OtlpReceiver
let test: TestDatabase | undefined

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'coinpipe-tracing-'))
  receiver = await startOtlpReceiver()
})

afterEach(async () => {
  await killStartedProcesses()
  await receiver.close()
  await test?.destroy()
  test = undefined
  rmSync(dir, { recursive: true, force: true })
})

const byName = (spans: readonly ReceivedSpan[], name: string) => spans.filter((s) => s.name === name)

describe.each(DIALECTS)('a traced CSV import on %s', (dialect) => {
  it('exports the run as one trace: etl.run at the root, its batch phases and statements beneath', async () => {
    test = await createTestDatabase(dialect)
    writeFileSync(join(dir, 'prices.csv'), CSV)

    const result = await runCli(['etl', 'run', '--file', 'prices.csv', '--json'], {
      cwd: dir,
      env: cliEnv({
        DATABASE_URL: test.url,
        ...otelEnv(receiver),
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=e2e,team=data',
      }),
    })

    expect(result.code, result.stderr).toBe(0)
    // The batch processor's 5 s schedule has not come round: these spans left with the flush at exit.
    const spans = receiver.spans()
    const [run] = byName(spans, 'etl.run')
    expect(run).toBeDefined()
    expect(run!.parentSpanId).toBeUndefined()
    expect(run!.attributes).toMatchObject({
      'coinpipe.source': 'csv',
      'coinpipe.trigger': 'cli',
      'coinpipe.run_id': 1,
      'coinpipe.run.status': 'succeeded',
      'coinpipe.run.loaded': 3,
      'coinpipe.run.rejected': 1,
    })
    expect(run!.status).toBe('unset')
    expect(run!.resource).toMatchObject({
      'service.name': 'coinpipe',
      'deployment.environment.name': 'e2e',
      team: 'data',
    })

    const trace = spans.filter((s) => s.traceId === run!.traceId)
    const ids = new Set(trace.map((s) => s.spanId))
    for (const span of trace) if (span !== run) expect(ids.has(span.parentSpanId!), span.name).toBe(true)
    const childrenOf = (parent: ReceivedSpan) => trace.filter((s) => s.parentSpanId === parent.spanId)
    const phases = childrenOf(run!).map((s) => s.name)
    expect(phases).toEqual(expect.arrayContaining(['etl.extract', 'etl.transform', 'etl.load']))

    const [transform] = byName(trace, 'etl.transform')
    expect(transform!.attributes).toMatchObject({ 'coinpipe.batch.records': 3, 'coinpipe.batch.rejected': 1 })
    expect(childrenOf(transform!).map((s) => s.name)).toContain('etl.resolve_identity')
    const [extract] = byName(trace, 'etl.extract').filter(
      (s) => s.attributes['coinpipe.batch.rows'] !== undefined,
    )
    expect(extract!.attributes).toMatchObject({ 'coinpipe.source': 'csv', 'coinpipe.batch.rows': 4 })

    const [load] = byName(trace, 'etl.load')
    expect(load!.attributes).toMatchObject({ 'coinpipe.batch.loaded': 3, 'coinpipe.batch_id': 1 })
    const statements = childrenOf(load!)
    expect(statements.every((s) => s.kind === 'client')).toBe(true)
    const system = dialect === 'sqlite' ? 'sqlite' : 'postgresql'
    expect(statements.map((s) => s.attributes['db.system.name'])).toEqual(statements.map(() => system))
    // The records go in by the dialect's bulk path: prepared statements on SQLite, COPY on PostgreSQL.
    const bulk = statements.find((s) =>
      dialect === 'sqlite' ? s.name === 'INSERT records' : s.attributes['db.operation.name'] === 'COPY',
    )
    expect(bulk, statements.map((s) => s.name).join(', ')).toBeDefined()
    const checkpoint = statements.find((s) => s.attributes['db.collection.name'] === 'checkpoints')!
    expect(checkpoint.attributes['db.query.text']).toMatch(/checkpoints/i)
    // Statement text with placeholders only: no value of the file reaches a span.
    expect(receiver.bodies()).not.toContain('43210.987')

    // Statements outside any run (migrations, recovering interrupted runs) make no traces of their own.
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([run!.traceId]))
  })
})

describe.each(DIALECTS)('a traced upstream run on %s', (dialect) => {
  let fake: FakeUpstream | undefined
  afterEach(async () => {
    await fake?.close()
    fake = undefined
  })

  /** `etl run --source coingecko` against the fake, traced into the receiver. */
  const runCoingecko = (upstream: FakeUpstream, database: TestDatabase, vars: Record<string, string>) =>
    runCli(['etl', 'run', '--source', 'coingecko', '--json'], {
      cwd: dir,
      env: cliEnv({
        DATABASE_URL: database.url,
        ...otelEnv(receiver),
        SOURCES: 'coingecko',
        COINGECKO_BASE_URL: upstream.coingeckoUrl,
        IDENTITY_COINS_LIST_REFRESH_MS: '0',
        ...vars,
      }),
    })

  it('has a CLIENT span per attempt: the 429, then the retry with its resend count and wait, and no key', async () => {
    const key = 'CG-tracing-secret-key-0123'
    fake = await startFakeUpstream({ keys: { coingecko: { key, plan: 'demo' } } })
    fake.fault({ source: 'coingecko', path: '/coins/markets', page: 1, kind: 'rate_limit', retryAfter: 1 })
    test = await createTestDatabase(dialect)

    const result = await runCoingecko(fake, test, {
      COINGECKO_API_KEY: key,
      COINGECKO_API_PLAN: 'demo',
      COINGECKO_PER_PAGE: String(PER_PAGE),
      // One call a second: the page after the retry waits for its slot.
      COINGECKO_RATE_LIMIT: '1/1s',
      UPSTREAM_RETRY_BASE_MS: '10',
      IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
    })

    expect(result.code, result.stderr).toBe(0)
    const spans = receiver.spans()
    const calls = spans.filter((s) => s.kind === 'client' && s.attributes['http.request.method'] === 'GET')
    const [limited, retried] = calls.filter((s) => String(s.attributes['url.full']).includes('&page=1&'))
    const host = new URL(fake.url).host
    expect(limited).toMatchObject({ name: `GET ${host}`, status: 'error' })
    expect(limited!.attributes).toMatchObject({
      'http.response.status_code': 429,
      'error.type': '429',
      'server.address': '127.0.0.1',
      'coinpipe.source': 'coingecko',
    })
    expect(limited!.attributes['http.request.resend_count']).toBeUndefined()
    expect(retried).toMatchObject({ name: `GET ${host}`, status: 'unset' })
    // The retry waited out the 429's Retry-After: 1.
    expect(retried!.attributes).toMatchObject({
      'http.response.status_code': 200,
      'http.request.resend_count': 1,
      'coinpipe.retry_delay_ms': 1000,
    })
    const page2 = calls.find((s) => String(s.attributes['url.full']).includes('&page=2&'))
    expect(page2!.attributes['coinpipe.rate_limit_wait_ms']).toBeGreaterThan(100)
    expect(retried!.attributes['url.full']).toBe(
      `${fake.coingeckoUrl}/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=${PER_PAGE}&page=1&sparkline=false`,
    )

    // Each call sits under the extract step that asked for it, under the run.
    const [run] = byName(spans, 'etl.run')
    for (const call of calls)
      expect(ancestry(call, spans).map((s) => s.name)).toEqual(['GET ' + host, 'etl.extract', 'etl.run'])
    expect(calls.every((s) => s.traceId === run!.traceId)).toBe(true)
    // The key travels in a header, which no span carries.
    expect(receiver.bodies()).not.toContain(key)
  })

  it("marks a failed run's span failed, with the run's error code", async () => {
    fake = await startFakeUpstream({ keys: { coingecko: { key: 'CG-the-right-key-0123', plan: 'demo' } } })
    test = await createTestDatabase(dialect)

    const result = await runCoingecko(fake, test, { COINGECKO_API_KEY: 'CG-a-wrong-key-0123' })

    expect(result.code).toBe(1)
    const [run] = byName(receiver.spans(), 'etl.run')
    expect(run).toMatchObject({ status: 'error' })
    expect(run!.attributes).toMatchObject({
      'coinpipe.run.status': 'failed',
      'coinpipe.run.error_code': 'SOURCE_AUTH_FAILED',
      'error.type': 'SOURCE_AUTH_FAILED',
    })
  })
})

describe('tracing left off', () => {
  /** A preload that writes, at exit, every module of @opentelemetry the process loaded. */
  const reporter = () => {
    const hook = join(dir, 'report-otel.mjs')
    writeFileSync(
      hook,
      `import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
const require = createRequire(import.meta.url)
process.on('exit', () => {
  const loaded = Object.keys(require.cache).filter((path) => path.includes('/@opentelemetry/'))
  writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, JSON.stringify(loaded))
})
`,
    )
    return hook
  }
  const loadedModules = () => JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as string[]

  const runWith = async (vars: Record<string, string>) => {
    writeFileSync(join(dir, 'prices.csv'), CSV)
    const result = await runCli(['etl', 'run', '--file', 'prices.csv', '--json'], {
      cwd: dir,
      env: cliEnv({
        DATABASE_URL: `sqlite:${join(dir, 'coinpipe.db')}`,
        NODE_OPTIONS: `--import ${reporter()}`,
        ...vars,
      }),
    })
    expect(result.code, result.stderr).toBe(0)
  }

  it.each([
    ['no OTEL_* variable is set', {}],
    [
      'only variables that do not ask for export are set',
      { OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'always_on' },
    ],
    ['OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'RECEIVER' }],
    ['OTEL_TRACES_EXPORTER=none', { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'RECEIVER' }],
  ])('never loads the SDK, nor even the API, when %s', async (_case, vars: Record<string, string>) => {
    const withReceiver = Object.fromEntries(
      Object.entries(vars).map(([name, value]) => [name, value === 'RECEIVER' ? receiver.url : value]),
    )
    await runWith(withReceiver)
    expect(loadedModules()).toEqual([])
    expect(receiver.requests()).toBe(0)
  })

  it('loads it when the endpoint comes from .env, as every other setting may (the control)', async () => {
    writeFileSync(
      join(dir, '.env'),
      `OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.url}\nOTEL_EXPORTER_OTLP_PROTOCOL=http/json\n`,
    )
    await runWith({})
    expect(loadedModules().some((path) => path.includes('/@opentelemetry/sdk-node/'))).toBe(true)
    expect(byName(receiver.spans(), 'etl.run')).toHaveLength(1)
  })
})

describe('a collector that is not there', () => {
  let silent: Server | undefined
  const sockets = new Set<Socket>()
  afterEach(async () => {
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    if (silent) await new Promise((resolve) => silent!.close(resolve))
    silent = undefined
  })

  /** An endpoint that accepts connections and never answers, the worst case for an exporter. */
  const silentEndpoint = async () => {
    silent = createServer((socket) => void sockets.add(socket))
    silent.listen(0, '127.0.0.1')
    await once(silent, 'listening')
    return `http://127.0.0.1:${(silent.address() as { port: number }).port}`
  }
  /** An endpoint where nothing listens: a port that was just free. */
  const refusingEndpoint = async () => {
    const probe = createServer().listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const { port } = probe.address() as { port: number }
    await new Promise((resolve) => probe.close(resolve))
    return `http://127.0.0.1:${port}`
  }

  it.each([
    ['refuses connections', refusingEndpoint],
    ['accepts connections and never answers', silentEndpoint],
  ])(
    'fails nothing when it %s: the import succeeds, in seconds, with one warning',
    async (_case, endpoint) => {
      writeFileSync(join(dir, 'prices.csv'), CSV)
      const startedMs = Date.now()
      const result = await runCli(['etl', 'run', '--file', 'prices.csv', '--json'], {
        cwd: dir,
        env: cliEnv({
          DATABASE_URL: `sqlite:${join(dir, 'coinpipe.db')}`,
          OTEL_EXPORTER_OTLP_ENDPOINT: await endpoint(),
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        }),
        timeoutMs: 15_000,
      })

      expect(result.code, result.stderr).toBe(0)
      expect(JSON.parse(result.stdout)).toMatchObject({ runs: [{ source: 'csv', loaded: 3 }] })
      // The flush at exit gives up after 3 s instead of the exporter's 10 s of retries.
      expect(Date.now() - startedMs).toBeLessThan(8_000)
      const warnings = result.stderr
        .split('\n')
        .filter((line) => line.includes('traces could not be exported'))
      expect(warnings).toHaveLength(1)
    },
  )
})
