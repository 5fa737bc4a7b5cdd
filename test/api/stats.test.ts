import { afterEach, describe, expect, it } from 'vitest'
import { type ApiFixture, expectProblem, importCsv, startApi } from '../helpers/api-fixture.js'
import { csvText } from '../helpers/pipeline-fixture.js'
import { seedRun } from '../helpers/run-seed.js'
import { DIALECTS } from '../helpers/test-database.js'

interface SourceStats {
  source: string
  enabled: boolean
  runs: { succeeded: number; partial: number; failed: number; running: number }
  loaded: number
  unchanged: number
  rejected: number
  last_success_at: string | null
  last_failure_at: string | null
  last_failure_error_code: string | null
  last_duration_ms: number | null
  mean_duration_ms: number | null
  loaded_24h: number
  newest_observed_at: string | null
}

interface Stats {
  stale_after_ms: number
  sources: SourceStats[]
  totals: { runs: number; records: number; rejected: number; assets: number }
}

const NO_RUNS = {
  runs: { succeeded: 0, partial: 0, failed: 0, running: 0, skipped: 0 },
  loaded: 0,
  unchanged: 0,
  rejected: 0,
  last_success_at: null,
  last_failure_at: null,
  last_failure_error_code: null,
  last_duration_ms: null,
  mean_duration_ms: null,
  loaded_24h: 0,
  newest_observed_at: null,
}

/** Six coingecko runs with known counts, endings and durations, oldest first. */
async function seedCoingeckoHistory(api: ApiFixture): Promise<void> {
  const db = api.test.db.kysely
  const at = (day: number) => `2026-03-0${day}T00:00:00.000Z`
  await seedRun(db, {
    source: 'coingecko',
    status: 'succeeded',
    startedAt: at(1),
    durationMs: 100,
    extracted: 11,
    loaded: 10,
    rejected: 1,
  })
  await seedRun(db, {
    source: 'coingecko',
    status: 'failed',
    startedAt: at(2),
    durationMs: 350,
    errorCode: 'SOURCE_TIMEOUT',
  })
  await seedRun(db, {
    source: 'coingecko',
    status: 'succeeded',
    startedAt: at(3),
    durationMs: 150,
    loaded: 2,
  })
  await seedRun(db, {
    source: 'coingecko',
    status: 'failed',
    startedAt: at(4),
    durationMs: 50,
    errorCode: 'SOURCE_AUTH_FAILED',
  })
  await seedRun(db, {
    source: 'coingecko',
    status: 'partial',
    startedAt: at(5),
    durationMs: 203,
    loaded: 5,
    unchanged: 5,
    rejected: 2,
  })
  // A tick dropped while the source ran elsewhere (queue mode): counted, but never the latest
  // finished run, and its 0 ms do not pull the mean down.
  await seedRun(db, { source: 'coingecko', status: 'skipped', startedAt: at(5), durationMs: 0 })
  await seedRun(db, { source: 'coingecko', status: 'running', startedAt: at(6), loaded: 3 })
}

async function newestCsvObservation(api: ApiFixture): Promise<string> {
  const rows = await api.test.db.kysely
    .selectFrom('records')
    .select('observedAt')
    .where('source', '=', 'csv')
    .execute()
  return rows
    .map((r) => r.observedAt)
    .sort()
    .at(-1)!
}

describe.each(DIALECTS)('GET /api/v1/stats on %s', (dialect) => {
  let api: ApiFixture
  let started: ApiFixture | undefined
  const start = async (env: Record<string, string> = {}) => {
    api = started = await startApi(dialect, env)
  }
  afterEach(async () => {
    await started?.close()
    started = undefined
  })

  const stats = async (): Promise<Stats> => {
    const response = await api.app.inject({ method: 'GET', url: '/api/v1/stats' })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    return response.json<Stats>()
  }

  it('answers every enabled source with no runs, and zero totals, on an empty database', async () => {
    await start()
    expect(await stats()).toEqual({
      stale_after_ms: 3_600_000,
      sources: [
        { source: 'coingecko', enabled: true, ...NO_RUNS },
        { source: 'coinpaprika', enabled: true, ...NO_RUNS },
        { source: 'csv', enabled: true, ...NO_RUNS },
      ],
      totals: { runs: 0, records: 0, rejected: 0, assets: 0 },
    })
  })

  it('counts runs by status, sums records over runs, and finds the last success, failure and duration', async () => {
    await start()
    await seedCoingeckoHistory(api)

    const coingecko = (await stats()).sources.find((s) => s.source === 'coingecko')
    expect(coingecko).toEqual({
      source: 'coingecko',
      enabled: true,
      runs: { succeeded: 2, partial: 1, failed: 2, running: 1, skipped: 1 },
      // The running run's counts so far are included.
      loaded: 20,
      unchanged: 5,
      rejected: 3,
      last_success_at: '2026-03-03T00:00:00.150Z',
      last_failure_at: '2026-03-04T00:00:00.050Z',
      last_failure_error_code: 'SOURCE_AUTH_FAILED',
      // The partial run is the latest that finished; the running one has no duration yet.
      last_duration_ms: 203,
      // (100 + 350 + 150 + 50 + 203) / 5 = 170.6
      mean_duration_ms: 171,
      // Those runs started in March; no record of them is stored.
      loaded_24h: 0,
      newest_observed_at: null,
    })
  })

  it('totals runs and rejections over sources, and counts stored records and assets', async () => {
    await start()
    await seedCoingeckoHistory(api)
    const clean = await importCsv(api.ctx, csvText(8))
    const withBadRow = await importCsv(api.ctx, 'date,symbol,price_usd\n2024-02-01,BTC,1\n2024-02-01,,5\n')
    expect([clean.loaded, withBadRow.loaded, withBadRow.rejected]).toEqual([8, 1, 1])

    const body = await stats()
    expect(body.sources.find((s) => s.source === 'csv')).toMatchObject({
      runs: { succeeded: 2, partial: 0, failed: 0, running: 0, skipped: 0 },
      loaded: 9,
      unchanged: 0,
      rejected: 1,
      last_success_at: withBadRow.finishedAt,
      last_failure_at: null,
      last_failure_error_code: null,
      last_duration_ms: withBadRow.durationMs,
      // Both imports ran just now; the newest row of the files is the data's own time.
      loaded_24h: 9,
      newest_observed_at: await newestCsvObservation(api),
    })
    expect(body.sources.find((s) => s.source === 'coinpaprika')).toEqual({
      source: 'coinpaprika',
      enabled: true,
      ...NO_RUNS,
    })
    // Records are the rows stored now (the seeded coingecko counts stored none); four CSV symbols.
    expect(body.totals).toEqual({ runs: 9, records: 9, rejected: 4, assets: 4 })
  })

  it('lists a disabled source that has runs, marked as not enabled', async () => {
    await start({ SOURCES: 'csv' })
    await seedRun(api.test.db.kysely, {
      source: 'coinpaprika',
      status: 'failed',
      errorCode: 'SOURCE_UNAVAILABLE',
    })

    const body = await stats()
    expect(body.sources.map((s) => [s.source, s.enabled])).toEqual([
      ['coinpaprika', false],
      ['csv', true],
    ])
    expect(body.sources[0]).toMatchObject({
      runs: { succeeded: 0, partial: 0, failed: 1, running: 0, skipped: 0 },
      last_success_at: null,
      last_failure_error_code: 'SOURCE_UNAVAILABLE',
      last_duration_ms: 1000,
      mean_duration_ms: 1000,
    })
  })

  it('refuses query parameters it does not know', async () => {
    await start()
    expectProblem(await api.app.inject({ method: 'GET', url: '/api/v1/stats?source=csv' }), 400, 'source')
  })
})
