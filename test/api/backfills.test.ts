import { afterEach, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../src/api/build-app.js'
import { API_KEY, expectProblem, WITH_KEY } from '../helpers/api-fixture.js'
import { startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { testConfig } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const DAY = 86_400_000
const READ_ONLY_KEY = 'k-readonly-0123456789'

interface RunAnswer {
  id: number
  source: string
  trigger: string
  status: string
  loaded: number
  error_code: string | null
  started_by: string | null
}

describe.each(DIALECTS)('POST /api/v1/backfills, on %s', (dialect) => {
  let live: LiveFixture
  let app: App
  afterEach(async () => {
    await app?.close()
    await live?.close()
  })

  async function start(): Promise<void> {
    live = await startLive(dialect, {}, { now: new Date() })
    app = await buildApp(
      testConfig({
        DATABASE_URL: live.test.url,
        API_KEYS: `${API_KEY},${READ_ONLY_KEY}:read`,
        SOURCES: 'coingecko,coinpaprika',
      }),
      live.ctx,
    )
    await app.ready()
  }
  const post = (payload: Record<string, unknown>, headers: Record<string, string> = WITH_KEY) =>
    app.inject({ method: 'POST', url: '/api/v1/backfills', headers, payload })
  const getRun = async (id: number) => (await app.inject(`/api/v1/runs/${id}`)).json<RunAnswer>()
  const from = (days: number) => new Date(Date.now() - days * DAY).toISOString()

  it('starts a backfill run (202), lists it with trigger backfill, and it ends partial beyond the plan without touching /health', async () => {
    await start()
    const started = await post({
      source: 'coinpaprika',
      assets: ['btc-bitcoin', 'eth-ethereum'],
      from: from(400),
    })
    expect(started.statusCode, started.body).toBe(202)
    const run = started.json<RunAnswer>()
    expect(run).toMatchObject({
      source: 'coinpaprika',
      trigger: 'backfill',
      started_by: expect.stringMatching(/^key:/) as unknown,
    })
    expect(started.headers.location).toBe(`/api/v1/runs/${run.id}`)
    const done = await waitFor(
      async () => {
        const current = await getRun(run.id)
        return current.status !== 'running' && current
      },
      { what: 'the backfill to finish' },
    )
    expect(done).toMatchObject({ status: 'partial', error_code: 'HISTORY_OUT_OF_RANGE' })
    expect(done.loaded).toBeGreaterThan(2 * 364)

    const listed = (await app.inject('/api/v1/runs?trigger=backfill')).json<{ data: RunAnswer[] }>()
    expect(listed.data.map((r) => r.id)).toEqual([run.id])
    // /health speaks of the feed: a backfill that ran into the plan's edge degrades nothing.
    const health = (await app.inject('/health')).json<{ sources: { source: string; last_run: unknown }[] }>()
    expect(health.sources.find((s) => s.source === 'coinpaprika')?.last_run ?? null).toBeNull()
  })

  it('refuses a second backfill of the same source while one runs (409), but not a snapshot run', async () => {
    await start()
    live.fake.fault({ source: 'coingecko', kind: 'slow', delayMs: 300, times: 3 })
    const first = await post({ source: 'coingecko', assets: ['bitcoin'], from: from(3) })
    expect(first.statusCode, first.body).toBe(202)
    const second = await post({ source: 'coingecko', assets: ['ethereum'], from: from(3) })
    expect(expectProblem(second, 409).detail).toMatch(/a backfill of coingecko is already in progress/)
    const snapshot = await app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: WITH_KEY,
      payload: { source: 'coingecko' },
    })
    expect(snapshot.statusCode, snapshot.body).toBe(202)
    const id = first.json<RunAnswer>().id
    await waitFor(async () => (await getRun(id)).status === 'succeeded', { what: 'the backfill to succeed' })
  })

  it('answers 400 naming the field for a bad request', async () => {
    await start()
    expectProblem(await post({ source: 'csv', assets: ['x'], from: from(3) }), 400, 'source')
    expectProblem(await post({ source: 'coingecko', assets: ['bitcoin'] }), 400, 'from')
    expectProblem(await post({ source: 'coingecko', assets: ['bitcoin'], from: 'yesterday' }), 400, 'from')
    expectProblem(
      await post({ source: 'coingecko', assets: ['bitcoin'], from: from(1), to: from(2) }),
      400,
      'from',
    )
    expectProblem(await post({ source: 'coingecko', from: from(3) }), 400, 'assets')
    expectProblem(await post({ source: 'coingecko', assets: [''], from: from(3) }), 400, 'assets.0')
    expectProblem(await post({ source: 'coingecko', top: 0, from: from(3) }), 400, 'top')
    expectProblem(await post({ source: 'coingecko', top: 1, from: from(3), extra: 1 }), 400)
    expect(live.fake.requests).toHaveLength(0)
  })

  it('needs a key with the runs:write scope', async () => {
    await start()
    expectProblem(await post({ source: 'coingecko', top: 1, from: from(3) }, {}), 401)
    const refused = expectProblem(
      await post(
        { source: 'coingecko', top: 1, from: from(3) },
        { authorization: `Bearer ${READ_ONLY_KEY}` },
      ),
      403,
    )
    expect(refused.detail).toContain('runs:write')
    expect(live.fake.requests).toHaveLength(0)
  })
})
