import { afterEach, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../src/api/build-app.js'
import { expectProblem, WITH_KEY, API_KEY } from '../helpers/api-fixture.js'
import { COINPAPRIKA_COINS, startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { testConfig } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

interface RunAnswer {
  id: number
  status: string
  loaded: number
  error_code: string | null
}

describe.each(DIALECTS)('runs of a live source over the API, on %s', (dialect) => {
  let live: LiveFixture
  let app: App
  afterEach(async () => {
    await app?.close()
    await live?.close()
  })

  async function start(): Promise<void> {
    live = await startLive(dialect)
    app = await buildApp(
      testConfig({ DATABASE_URL: live.test.url, API_KEYS: API_KEY, SOURCES: 'coingecko,coinpaprika' }),
      live.ctx,
    )
    await app.ready()
  }
  const post = () =>
    app.inject({ method: 'POST', url: '/api/v1/runs', headers: WITH_KEY, payload: { source: 'coinpaprika' } })
  const getRun = async (id: number) => (await app.inject(`/api/v1/runs/${id}`)).json<RunAnswer>()

  it('starts one run for two simultaneous POSTs (202 and 409) and it loads the snapshot', async () => {
    await start()
    live.fake.fault({ source: 'coinpaprika', kind: 'slow', delayMs: 200 })
    const [first, second] = await Promise.all([post(), post()])
    const accepted = [first, second].find((r) => r.statusCode === 202)!
    const refused = [first, second].find((r) => r.statusCode !== 202)!
    expectProblem(refused, 409)
    const { id } = accepted.json<RunAnswer>()
    expect(accepted.headers.location).toBe(`/api/v1/runs/${id}`)
    const done = await waitFor(
      async () => {
        const run = await getRun(id)
        return run.status !== 'running' && run
      },
      { what: 'the run to finish' },
    )
    expect(done).toMatchObject({ status: 'succeeded', loaded: COINPAPRIKA_COINS })
    expect(live.fake.count('coinpaprika')).toBe(1)
  })

  it('shows a failed live run on /health (degraded) and in the run history with its code', async () => {
    await start()
    live.fake.fault({ source: 'coinpaprika', kind: 'payment_required', times: Infinity })
    const { id } = (await post()).json<RunAnswer>()
    await waitFor(async () => (await getRun(id)).status === 'failed', { what: 'the run to fail' })
    const health = await app.inject('/health')
    expect(health.statusCode).toBe(200)
    expect(health.json()).toMatchObject({
      status: 'degraded',
      sources: expect.arrayContaining([
        expect.objectContaining({
          source: 'coinpaprika',
          last_run: expect.objectContaining({
            status: 'failed',
            error_code: 'SOURCE_PLAN_REQUIRED',
          }) as unknown,
        }),
      ]) as unknown,
    })
    const history = (await app.inject('/api/v1/runs?source=coinpaprika&status=failed')).json<{
      data: RunAnswer[]
    }>()
    expect(history.data.map((r) => [r.id, r.error_code])).toEqual([[id, 'SOURCE_PLAN_REQUIRED']])

    // Once the plan is sorted out, the next run succeeds and the source is healthy again.
    live.fake.clearFaults()
    const next = (await post()).json<RunAnswer>()
    await waitFor(async () => (await getRun(next.id)).status === 'succeeded', { what: 'the next run' })
    expect((await app.inject('/health')).json()).toMatchObject({ status: 'ok' })
  })
})
