import { afterEach, describe, expect, it } from 'vitest'
import { findCheckpoint } from '../../src/db/repositories/checkpoint-repository.js'
import { RunAlreadyRunningError } from '../../src/errors.js'
import { createInProcessScheduler } from '../../src/jobs/scheduler.js'
import { COINGECKO_COINS, startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const onDemand = { sources: [], schedules: {}, runOnStart: false }

async function finished(live: LiveFixture): Promise<boolean> {
  const running = await live.test.db.kysely
    .selectFrom('etlRuns')
    .select('id')
    .where('status', '=', 'running')
    .execute()
  return running.length === 0
}

describe.each(DIALECTS)('scheduling runs, on %s', (dialect) => {
  let live: LiveFixture
  afterEach(() => live?.close())

  it('two triggers of one source at once start one run; the second is refused', async () => {
    live = await startLive(dialect)
    const scheduler = createInProcessScheduler(live.ctx, onDemand)
    const results = await Promise.allSettled([
      scheduler.startRun('coinpaprika', 'api'),
      scheduler.startRun('coinpaprika', 'schedule'),
    ])
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    const refused = results.find((r) => r.status === 'rejected')!
    expect(refused.reason).toBeInstanceOf(RunAlreadyRunningError)
    await waitFor(() => finished(live), { what: 'the run to finish' })
    await scheduler.stop(10_000)
    expect(await live.test.count('etlRuns')).toBe(1)
    expect(live.fake.count('coinpaprika')).toBe(1)
  })

  it('two processes triggering one source at once start one run (the database decides)', async () => {
    live = await startLive(dialect)
    const other = await live.withEnv({})
    const first = createInProcessScheduler(live.ctx, onDemand)
    const second = createInProcessScheduler(other, onDemand)
    const results = await Promise.allSettled([
      first.startRun('coingecko', 'schedule'),
      second.startRun('coingecko', 'schedule'),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    await waitFor(() => finished(live), { what: 'the run to finish' })
    await Promise.all([first.stop(10_000), second.stop(10_000)])
    expect(await live.test.count('etlRuns')).toBe(1)
  })

  it('stopping mid-run lets the batch in flight commit, ends the run partial, and loses nothing', async () => {
    live = await startLive(dialect, { COINGECKO_PER_PAGE: '5', COINGECKO_MAX_PAGES: '100' })
    live.fake.fault({ source: 'coingecko', kind: 'slow', delayMs: 150, times: Infinity })
    const scheduler = createInProcessScheduler(live.ctx, onDemand)
    const started = await scheduler.startRun('coingecko', 'schedule')
    if (!('run' in started)) throw new Error('an in-process run starts at once')
    await waitFor(async () => (await live.test.count('records')) >= 10, { what: 'two pages to load' })
    await scheduler.stop(10_000)

    const run = await live.test.db.kysely
      .selectFrom('etlRuns')
      .selectAll()
      .where('id', '=', started.run.id)
      .executeTakeFirstOrThrow()
    expect(run).toMatchObject({ status: 'partial', errorCode: 'RUN_CANCELLED' })
    expect(run.loaded).toBe(run.batches * 5)
    expect(await live.test.count('records')).toBe(run.loaded)
    const checkpoint = JSON.parse((await findCheckpoint(live.test.db.kysely, 'coingecko', 'markets'))!) as {
      next_page: number
    }
    expect(checkpoint.next_page).toBe(run.batches + 1)
    await expect(scheduler.startRun('coingecko', 'api')).rejects.toThrow(/shutting down/)

    // The next run takes up at the next page and completes the snapshot: each coin exactly once.
    live.fake.clearFaults()
    const rest = await live.run('coingecko')
    expect(rest).toMatchObject({ status: 'succeeded', loaded: COINGECKO_COINS - run.loaded })
    expect(await live.test.count('records')).toBe(COINGECKO_COINS)
  })
})
