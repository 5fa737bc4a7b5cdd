import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../src/api/build-app.js'
import { findRun } from '../../src/db/repositories/run-repository.js'
import type { EtlRunRow } from '../../src/db/schema.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import { API_KEY } from '../helpers/api-fixture.js'
import { startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { csvText, testConfig, writeCsv } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

interface Scrape {
  /** Metric family name → type, from `# TYPE` lines. */
  readonly types: ReadonlyMap<string, string>
  readonly samples: readonly Sample[]
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** The Prometheus text format, as much of it as prom-client writes. */
function parseScrape(text: string): Scrape {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) {
      types.set(type[1]!, type[2]!)
      continue
    }
    const sample = SAMPLE_LINE.exec(line)
    if (!sample) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, name, value] of (sample[2] ?? '').matchAll(LABEL)) labels[name!] = value!
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) })
  }
  return { types, samples }
}

/** Samples of `name` whose labels include `labels`. */
const series = (scrape: Scrape, name: string, labels: Record<string, string> = {}) =>
  scrape.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
/** The sum over those samples (0 when none). */
const total = (scrape: Scrape, name: string, labels: Record<string, string> = {}) =>
  series(scrape, name, labels).reduce((sum, s) => sum + s.value, 0)

/** Reads that never time out on a busy machine, so every attempt the fake saw answered 200. */
const PATIENT = { UPSTREAM_READ_TIMEOUT_MS: '10000' }

/** 40 clean rows, one exact repeat (unchanged) and one row without a price (rejected). */
const CSV = csvText(40) + '2024-01-01,BTC,100.00,1000\n' + '2024-03-01,BTC,,1000\n'

describe.each(DIALECTS)('GET /metrics on %s', (dialect) => {
  let live: LiveFixture
  const apps: App[] = []
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close()
    await live?.close()
  })

  /** The API over the live fixture, with metrics of its own like `serve` gives it. */
  async function startApp(env: Record<string, string> = {}): Promise<{ app: App; ctx: PipelineContext }> {
    const config = testConfig({
      DATABASE_URL: live.test.url,
      API_KEYS: API_KEY,
      SOURCES: 'coingecko,csv',
      ...env,
    })
    const ctx = await live.withEnv({}, createMetrics({ db: live.test.db }))
    const app = await buildApp(config, ctx)
    apps.push(app)
    await app.ready()
    return { app, ctx }
  }

  async function scrape(app: App): Promise<Scrape> {
    const response = await app.inject({ method: 'GET', url: '/metrics' })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    return parseScrape(response.body)
  }

  const dbRun = async (run: EtlRunRow) => (await findRun(live.test.db.kysely, run.id))!

  it('counts runs, records, upstream calls, requests and queries as the database and the fake saw them', async () => {
    live = await startLive(dialect, PATIENT)
    const { app, ctx } = await startApp()
    const gecko = await dbRun(await runSource(ctx, 'coingecko', { trigger: 'cli' }))
    const csv = await dbRun(await runSource(ctx, 'csv', { trigger: 'cli', files: [writeCsv(CSV)] }))
    expect(gecko.status, `${gecko.errorCode}: ${gecko.errorMessage}`).toBe('succeeded')
    expect(csv).toMatchObject({ status: 'succeeded', unchanged: 1, rejected: 1 })
    for (const url of [
      '/api/v1/records?symbol=BTC&limit=5',
      '/api/v1/records?limit=1',
      `/api/v1/runs/${csv.id}`,
    ])
      expect((await app.inject(url)).statusCode, url).toBe(200)

    const m = await scrape(app)

    for (const [run, source] of [
      [gecko, 'coingecko'],
      [csv, 'csv'],
    ] as const) {
      expect(total(m, 'coinpipe_etl_records_total', { source, outcome: 'loaded' })).toBe(run.loaded)
      expect(total(m, 'coinpipe_etl_records_total', { source, outcome: 'unchanged' })).toBe(run.unchanged)
      expect(total(m, 'coinpipe_etl_records_total', { source, outcome: 'rejected' })).toBe(run.rejected)
      expect(total(m, 'coinpipe_etl_runs_total', { source, status: 'succeeded' })).toBe(1)
      expect(
        total(m, 'coinpipe_etl_run_duration_seconds_count', { source, status: 'succeeded' }),
      ).toBeGreaterThanOrEqual(1)
      expect(total(m, 'coinpipe_etl_run_duration_seconds_sum', { source, status: 'succeeded' })).toBeCloseTo(
        run.durationMs! / 1000,
        3,
      )
      const lastSuccess = total(m, 'coinpipe_last_successful_run_timestamp_seconds', { source })
      expect(lastSuccess).toBeGreaterThan(Date.now() / 1000 - 60)
      expect(lastSuccess).toBeLessThanOrEqual(Date.now() / 1000)
    }
    expect(gecko.loaded).toBeGreaterThan(0)

    const requests = live.fake.count('coingecko')
    expect(requests).toBeGreaterThan(1)
    expect(total(m, 'coinpipe_upstream_requests_total', { source: 'coingecko' })).toBe(requests)
    expect(total(m, 'coinpipe_upstream_requests_total', { source: 'coingecko', status: '200' })).toBe(
      requests,
    )
    expect(total(m, 'coinpipe_upstream_request_duration_seconds_count', { source: 'coingecko' })).toBe(
      requests,
    )
    expect(
      total(m, 'coinpipe_upstream_request_duration_seconds_sum', { source: 'coingecko' }),
    ).toBeGreaterThan(0)
    expect(total(m, 'coinpipe_rate_limit_wait_seconds_count', { source: 'coingecko' })).toBe(requests)
    expect(series(m, 'coinpipe_upstream_requests_total', { source: 'csv' })).toEqual([])

    const records = series(m, 'coinpipe_http_request_duration_seconds_count', {
      method: 'GET',
      route: '/api/v1/records',
      status_code: '200',
    })
    expect(records.map((s) => s.value)).toEqual([2])
    expect(total(m, 'coinpipe_http_request_duration_seconds_count', { route: '/api/v1/runs/:id' })).toBe(1)
    const routes = new Set(
      series(m, 'coinpipe_http_request_duration_seconds_count').map((s) => s.labels.route),
    )
    for (const route of routes) expect(route).not.toMatch(/[?=&]|\/\d+$/)

    expect(total(m, 'coinpipe_db_query_duration_seconds_count', { dialect, kind: 'select' })).toBeGreaterThan(
      0,
    )
    expect(total(m, 'coinpipe_db_query_duration_seconds_count', { dialect, kind: 'insert' })).toBeGreaterThan(
      0,
    )
    expect(total(m, 'coinpipe_db_query_duration_seconds_count', { dialect, kind: 'update' })).toBeGreaterThan(
      0,
    )
    const kinds = new Set(series(m, 'coinpipe_db_query_duration_seconds_count').map((s) => s.labels.kind))
    expect([...kinds].every((k) => ['select', 'insert', 'update', 'delete', 'other'].includes(k!))).toBe(true)
    if (dialect === 'postgres')
      expect(total(m, 'coinpipe_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1)
    else expect(m.types.has('coinpipe_db_pool_connections')).toBe(false)

    expect(total(m, 'coinpipe_process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(total(m, 'coinpipe_process_resident_memory_bytes')).toBeGreaterThan(0)
  })

  it('names every metric by convention (coinpipe_, _total, _seconds), public even when reads need a key', async () => {
    live = await startLive(dialect, PATIENT)
    const { app, ctx } = await startApp({ API_READ_KEYS_REQUIRED: 'true' })
    await runSource(ctx, 'csv', { trigger: 'cli', files: [writeCsv(CSV)] })
    expect((await app.inject('/api/v1/records')).statusCode).toBe(401)

    const m = await scrape(app)

    expect(m.types.size).toBeGreaterThan(10)
    for (const [name, type] of m.types) {
      expect(name).toMatch(/^coinpipe_[a-z0-9_]+$/)
      if (type === 'counter') expect(name).toMatch(/_total$/)
      if (type === 'histogram') expect(name).toMatch(/_seconds$/)
      if (/duration|wait/.test(name)) expect(name).toMatch(/_seconds$/)
    }
    for (const sample of m.samples) expect(sample.name).toMatch(/^coinpipe_[a-z0-9_]+$/)
    expect(m.types.get('coinpipe_etl_records_total')).toBe('counter')
    expect(m.types.get('coinpipe_http_request_duration_seconds')).toBe('histogram')
    expect(m.types.get('coinpipe_last_successful_run_timestamp_seconds')).toBe('gauge')
  })

  it('keeps one unmatched series for any number of unknown URLs', async () => {
    live = await startLive(dialect, PATIENT)
    const { app } = await startApp()
    for (let i = 0; i < 50; i++) {
      const url = `/${randomUUID()}/${i}?q=${randomUUID()}`
      expect((await app.inject(url)).statusCode).toBe(404)
    }
    await app.inject('/api/v1/records?limit=0')

    const m = await scrape(app)

    const unmatched = series(m, 'coinpipe_http_request_duration_seconds_count', { route: 'unmatched' })
    expect(unmatched).toEqual([
      {
        name: 'coinpipe_http_request_duration_seconds_count',
        labels: expect.anything() as object,
        value: 50,
      },
    ])
    expect(unmatched[0]!.labels).toEqual({ method: 'GET', route: 'unmatched', status_code: '404' })
    // The 404s and the 400 for limit=0; the scrape itself is counted once it has answered.
    expect(series(m, 'coinpipe_http_request_duration_seconds_count')).toHaveLength(2)
    expect(
      total(m, 'coinpipe_http_request_duration_seconds_count', {
        route: '/api/v1/records',
        status_code: '400',
      }),
    ).toBe(1)
  })

  it('counts retries by reason and attempts by status, and reads the last success after a restart', async () => {
    live = await startLive(dialect, PATIENT)
    const first = await startApp()
    live.fake.fault({ source: 'coingecko', kind: 'rate_limit', retryAfter: 0, times: 2 })
    live.fake.fault({ source: 'coingecko', kind: 'server_error' })
    const run = await runSource(first.ctx, 'coingecko', { trigger: 'cli' })
    expect(run.status, `${run.errorCode}: ${run.errorMessage}`).toBe('succeeded')

    let m = await scrape(first.app)
    expect(total(m, 'coinpipe_upstream_retries_total', { source: 'coingecko', reason: 'rate_limited' })).toBe(
      2,
    )
    expect(total(m, 'coinpipe_upstream_retries_total', { source: 'coingecko', reason: 'unavailable' })).toBe(
      1,
    )
    expect(total(m, 'coinpipe_upstream_requests_total', { source: 'coingecko', status: '429' })).toBe(2)
    expect(total(m, 'coinpipe_upstream_requests_total', { source: 'coingecko', status: '500' })).toBe(1)
    expect(total(m, 'coinpipe_upstream_requests_total', { source: 'coingecko' })).toBe(
      live.fake.count('coingecko'),
    )

    // A new process over the same database: no run of its own, yet the last success is known.
    const restarted = await startApp()
    m = await scrape(restarted.app)
    const finishedAt = Date.parse((await findRun(live.test.db.kysely, run.id))!.finishedAt!) / 1000
    expect(total(m, 'coinpipe_last_successful_run_timestamp_seconds', { source: 'coingecko' })).toBe(
      finishedAt,
    )
    expect(series(m, 'coinpipe_last_successful_run_timestamp_seconds', { source: 'csv' })).toEqual([])
    expect(series(m, 'coinpipe_etl_runs_total')).toEqual([])
  })
})
