import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../src/api/build-app.js'
import { findRun, listRuns } from '../../src/db/repositories/run-repository.js'
import { createMetrics } from '../../src/metrics/metrics.js'
import { registerQueueMetrics } from '../../src/metrics/queue-metrics.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { EtlQueue } from '../../src/queue/etl-queue.js'
import { startEtlWorker, type EtlWorker } from '../../src/queue/etl-worker.js'
import { queueKeys } from '../../src/queue/queue-keys.js'
import { createQueueScheduler } from '../../src/queue/queue-scheduler.js'
import { SourceLease } from '../../src/queue/source-lease.js'
import { API_KEY, WITH_KEY } from '../helpers/api-fixture.js'
import { COINGECKO_COINS, duplicateKeys, startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { testConfig } from '../helpers/pipeline-fixture.js'
import {
  connectRedis,
  deleteKeys,
  isRedisReachable,
  TEST_REDIS_URL,
  uniquePrefix,
} from '../helpers/shared-redis.js'
import { DIALECTS } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

/** Queue mode is meant for PostgreSQL; SQLite stands in when the run has no PostgreSQL. */
const dialect = DIALECTS.includes('postgres') ? 'postgres' : 'sqlite'
const LEASE_MS = 1_500
/** What attribution stores for the fixture's API key: `key:` and its SHA-256's first 16 bytes. */
const KEY_ACTOR = `key:${createHash('sha256').update(API_KEY).digest().subarray(0, 16).toString('hex')}`
const SOURCES = ['coingecko', 'coinpaprika'] as const

/**
 * Queue mode in one process: the API's scheduler enqueues, workers built as `coinpipe worker`
 * builds them take the jobs, all over the real Redis under a prefix of this test's own.
 */
describe.skipIf(!(await isRedisReachable()))(`queue mode (${dialect})`, () => {
  let live: LiveFixture
  let prefix: string
  let redis: Redis
  let closers: (() => Promise<unknown>)[]

  beforeEach(async () => {
    live = await startLive(dialect)
    prefix = uniquePrefix()
    redis = await connectRedis('queue-mode test')
    closers = []
  })

  afterEach(async () => {
    for (const close of closers.reverse()) await close()
    await deleteKeys(redis, prefix)
    redis.disconnect()
    await live.close()
  })

  const openQueue = async () => {
    const queue = EtlQueue.open(TEST_REDIS_URL, prefix, 'queue-mode test')
    closers.push(() => queue.close())
    await queue.connected(5_000)
    return queue
  }

  const startWorker = (ctx: PipelineContext = live.ctx): EtlWorker => {
    const worker = startEtlWorker(ctx, {
      redisUrl: TEST_REDIS_URL,
      prefix,
      leaseMs: LEASE_MS,
      concurrency: 2,
    })
    closers.push(() => worker.close())
    return worker
  }

  /** `serve` in queue mode, not listening: the API over a queue scheduler. */
  const startServe = async (queue: EtlQueue, schedules: Record<string, string> = {}): Promise<App> => {
    const config = testConfig({ DATABASE_URL: live.test.url, API_KEYS: API_KEY, QUEUE_PREFIX: prefix })
    const metrics = createMetrics({ db: live.ctx.db })
    registerQueueMetrics(metrics.registry, queue)
    const ctx = { ...live.ctx, metrics }
    const scheduler = createQueueScheduler(ctx, queue, {
      sources: [...SOURCES],
      schedules,
      runOnStart: false,
      startWaitMs: 200,
    })
    await scheduler.start()
    const app = await buildApp(config, ctx, { runs: scheduler, queue, redis: queue.redis })
    await app.ready()
    closers.push(async () => {
      await scheduler.stop(1_000)
      await app.close()
      metrics.close()
    })
    return app
  }

  const postRun = (app: App, source: string) =>
    app.inject({ method: 'POST', url: '/api/v1/runs', headers: WITH_KEY, payload: { source } })

  it('queues a POSTed run, lists it as queued, and a worker runs it to the same records as in-process', async () => {
    const queue = await openQueue()
    const app = await startServe(queue)

    const posted = await postRun(app, 'coingecko')
    expect(posted.statusCode).toBe(202)
    const job = posted.json<{ id: number | null; job_id: string; status: string }>()
    expect(job).toMatchObject({ id: null, status: 'queued', source: 'coingecko', trigger: 'api' })

    // No worker yet: the history starts with the queued job, and the status filter finds it.
    const listed = await app.inject({ url: '/api/v1/runs' })
    expect(listed.json<{ data: unknown[] }>().data[0]).toMatchObject({ status: 'queued', job_id: job.job_id })
    const onlyQueued = await app.inject({ url: '/api/v1/runs?status=queued' })
    expect(onlyQueued.json<{ data: { job_id: string }[] }>().data.map((j) => j.job_id)).toEqual([job.job_id])

    // A second ask while the first waits is refused, naming the job that will do it.
    const again = await postRun(app, 'coingecko')
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({ code: 'RUN_ALREADY_QUEUED' })
    expect(again.json<{ detail: string }>().detail).toContain(job.job_id)

    startWorker()
    const result = await queue.settled(job.job_id, AbortSignal.timeout(20_000))
    expect(result.status).toBe('succeeded')
    const run = await findRun(live.test.db.kysely, result.runId)
    expect(run).toMatchObject({ source: 'coingecko', trigger: 'api', status: 'succeeded' })
    expect(run?.loaded).toBe(COINGECKO_COINS)
    expect(await duplicateKeys(live.test, 'coingecko')).toBe(0)

    const after = await app.inject({ url: '/api/v1/runs' })
    const first = after.json<{ data: { id: number | null; status: string }[] }>().data[0]
    expect(first).toMatchObject({ id: result.runId, status: 'succeeded' })
  })

  it('answers a POST with the run once a worker has started it', async () => {
    const queue = await openQueue()
    startWorker()
    const app = await startServe(queue)
    await waitFor(async () => (await queue.workers(60_000)).length === 1, { what: 'the worker heartbeat' })

    const posted = await postRun(app, 'coinpaprika')
    expect(posted.statusCode).toBe(202)
    // Either already a run (the worker took it within the wait) or still queued: never anything else.
    const body = posted.json<{ id: number | null; job_id?: string; status: string }>()
    if (body.id !== null) expect(posted.headers.location).toBe(`/api/v1/runs/${body.id}`)
    await waitFor(
      async () => (await listRuns(live.test.db.kysely, { limit: 5 })).find((r) => r.status === 'succeeded'),
      { what: 'the run to succeed', timeoutMs: 20_000 },
    )
  })

  it('shows the queue and each worker in /health and the job counts in /metrics', async () => {
    const queue = await openQueue()
    const app = await startServe(queue)

    // No worker yet: Redis is fine, but nothing would run the jobs.
    const lonely = await app.inject({ url: '/health' })
    expect(lonely.json()).toMatchObject({ status: 'degraded', queue: { status: 'ok', workers: [] } })

    const worker = startWorker()
    const health = await waitFor(
      async () => {
        const answer = (await app.inject({ url: '/health' })).json<{
          status: string
          queue: { workers: { id: string; last_seen_at: string; running: string[] }[] }
        }>()
        return answer.queue.workers.length === 1 && answer
      },
      { what: 'the worker in /health' },
    )
    expect(health.status).toBe('ok')
    expect(health.queue.workers[0]).toMatchObject({ id: worker.id, running: [] })

    await postRun(app, 'coingecko')
    await waitFor(async () => (await queue.counts()).completed === 1, { what: 'the job', timeoutMs: 20_000 })
    const metrics = (await app.inject({ url: '/metrics' })).body
    expect(metrics).toMatch(/^coinpipe_queue_up 1$/m)
    expect(metrics).toMatch(/^coinpipe_queue_jobs\{state="completed"\} 1$/m)
    expect(metrics).toMatch(/^coinpipe_queue_jobs\{state="waiting"\} 0$/m)
    expect(metrics).toMatch(/^coinpipe_queue_workers 1$/m)
    expect(metrics).toMatch(/^coinpipe_queue_stalled_jobs_total 0$/m)

    // A closed worker leaves the list at once.
    await worker.close()
    const gone = (await app.inject({ url: '/health' })).json<{ queue: { workers: unknown[] } }>()
    expect(gone.queue.workers).toEqual([])
  })

  it('keeps one job scheduler per source however many replicas apply them, and removes them when off', async () => {
    const every = { coingecko: '0 * * * *', coinpaprika: '30 * * * *' }
    const replicas = [await openQueue(), await openQueue(), await openQueue()]
    for (const queue of replicas) await startServe(queue, every)
    const schedulers = await replicas[0]!.queue.getJobSchedulers(0, -1)
    expect(schedulers.map((s) => [s.key, s.pattern]).sort()).toEqual([
      ['etl:coingecko', '0 * * * *'],
      ['etl:coinpaprika', '30 * * * *'],
    ])
    // One delayed job per source for the next tick, not one per replica.
    expect(await replicas[0]!.queue.getDelayedCount()).toBe(2)

    await startServe(await openQueue(), { coingecko: 'off', coinpaprika: '30 * * * *' })
    const left = await replicas[0]!.queue.getJobSchedulers(0, -1)
    expect(left.map((s) => s.key)).toEqual(['etl:coinpaprika'])
  })

  it('runs a tick of a source once: a tick due while its source runs is recorded as skipped', async () => {
    const queue = await openQueue()
    // Another process holds coingecko's lease, as a worker in the middle of a run would.
    const held = await SourceLease.acquire(
      redis,
      queueKeys(prefix).lease('coingecko'),
      'other-host:1 job 7',
      60_000,
    )
    expect(held).toBeDefined()
    closers.push(() => held!.release())
    startWorker()
    await queue.queue.add('coingecko', { source: 'coingecko', trigger: 'schedule' }, { jobId: 'tick-1' })
    const result = await queue.settled('tick-1', AbortSignal.timeout(10_000))
    expect(result.status).toBe('skipped')
    const skipped = await findRun(live.test.db.kysely, result.runId)
    expect(skipped).toMatchObject({ status: 'skipped', errorCode: 'RUN_SKIPPED', trigger: 'schedule' })
    expect(skipped?.errorMessage).toContain('other-host:1 job 7')

    // A run a person asked for waits instead, and says what for.
    const { jobId } = await queue.enqueue('coingecko', 'api')
    const waiting = await waitFor(async () => (await queue.job(jobId))?.progress.waitingFor, {
      what: 'the job to say what it waits for',
    })
    expect(waiting).toContain('other-host:1 job 7')
    await held!.release()
    expect(await queue.settled(jobId, AbortSignal.timeout(20_000))).toMatchObject({ status: 'succeeded' })
  })

  it('hands a job back on a graceful stop after the batch in flight, and another worker finishes it', async () => {
    // Two requests a second: CoinGecko's three pages take over a second, so the stop lands mid-run.
    const slow = await live.withEnv({ COINGECKO_RATE_LIMIT: '2/1s' })
    const queue = await openQueue()
    const first = startWorker(slow)
    const { jobId } = await queue.enqueue('coingecko', 'api')
    const started = await waitFor(
      async () => {
        const run = (await listRuns(live.test.db.kysely, { limit: 1 }))[0]
        return run && run.batches >= 1 && run
      },
      { what: 'the first batch to commit', timeoutMs: 10_000 },
    )
    await first.close()
    const stopped = await findRun(live.test.db.kysely, started.id)
    expect(stopped).toMatchObject({ status: 'partial', errorCode: 'RUN_CANCELLED' })
    expect((await queue.job(jobId))?.state).toBe('waiting')

    startWorker(slow)
    const result = await queue.settled(jobId, AbortSignal.timeout(20_000))
    expect(result.status).toBe('succeeded')
    expect(result.runId).not.toBe(started.id)
    const total = await live.test.db.kysely
      .selectFrom('records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('source', '=', 'coingecko')
      .executeTakeFirstOrThrow()
    expect(Number(total.n)).toBe(COINGECKO_COINS)
    expect(await duplicateKeys(live.test, 'coingecko')).toBe(0)
  })

  it('puts a job back, not failing it, when the worker cannot take the lease because its connection dropped', async () => {
    const queue = await openQueue()
    const worker = startWorker()
    await waitFor(async () => (await queue.workers(60_000)).length === 1, { what: 'the worker heartbeat' })
    // The worker's lease connection drops just as a job comes: BullMQ's own connection is fine.
    const clients = (await redis.client('LIST')) as string
    const leases = /^id=(\d+) .*name=(\S+)/gm
    const ids = [...clients.matchAll(leases)]
      .filter(([, , name]) => name === `coinpipe-worker-${worker.id}-leases`)
      .map(([, id]) => id!)
    expect(ids).toHaveLength(1)
    await redis.client('KILL', 'ID', ids[0]!)
    const { jobId } = await queue.enqueue('coinpaprika', 'api')
    expect(await queue.settled(jobId, AbortSignal.timeout(20_000))).toMatchObject({ status: 'succeeded' })
  })

  it('answers 503 to a POST while Redis is unreachable, and keeps serving reads and /health', async () => {
    // A Redis URL nobody answers on stands in for an outage.
    const queue = EtlQueue.open('redis://127.0.0.1:1', prefix, 'queue-mode test (down)')
    closers.push(() => queue.close())
    const app = await startServe(queue, { coingecko: '0 * * * *' })

    const posted = await postRun(app, 'coingecko')
    expect(posted.statusCode).toBe(503)
    expect(posted.headers['content-type']).toContain('application/problem+json')
    expect(posted.headers['retry-after']).toBe('5')
    expect(posted.json()).toMatchObject({ code: 'QUEUE_UNAVAILABLE' })

    expect((await app.inject({ url: '/api/v1/records' })).statusCode).toBe(200)
    expect((await app.inject({ url: '/api/v1/runs' })).statusCode).toBe(200)
    const health = await app.inject({ url: '/health' })
    expect(health.statusCode).toBe(200)
    expect(health.json()).toMatchObject({ status: 'degraded', queue: { status: 'down', workers: [] } })
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/^coinpipe_queue_up 0$/m)
  })

  it('shows who asked for a queued run, and the worker stores it with the run', async () => {
    const queue = await openQueue()
    const app = await startServe(queue)
    const posted = await postRun(app, 'coingecko')
    expect(posted.statusCode, posted.body).toBe(202)
    const job = posted.json<{ job_id: string; status: string; started_by: string | null }>()
    expect(job).toMatchObject({ status: 'queued', started_by: KEY_ACTOR })
    const listed = await app.inject({ url: '/api/v1/runs?status=queued' })
    expect(listed.json<{ data: unknown[] }>().data).toEqual([
      expect.objectContaining({ job_id: job.job_id, started_by: KEY_ACTOR }),
    ])

    startWorker()
    const result = await queue.settled(job.job_id, AbortSignal.timeout(20_000))
    expect(await findRun(live.test.db.kysely, result.runId)).toMatchObject({
      source: 'coingecko',
      trigger: 'api',
      status: 'succeeded',
      startedBy: KEY_ACTOR,
    })
  })

  it('queues a POSTed backfill for the workers, beside a run of the same source, and a worker runs it without the lease', async () => {
    const queue = await openQueue()
    const app = await startServe(queue)
    const fakeNow = live.fake.now.getTime()
    const posted = await app.inject({
      method: 'POST',
      url: '/api/v1/backfills',
      headers: WITH_KEY,
      payload: {
        source: 'coingecko',
        assets: ['bitcoin'],
        from: new Date(fakeNow - 3 * 86_400_000).toISOString(),
        to: new Date(fakeNow).toISOString(),
      },
    })
    expect(posted.statusCode, posted.body).toBe(202)
    const job = posted.json<{ job_id: string; status: string; trigger: string; started_by: string | null }>()
    expect(job).toMatchObject({ status: 'queued', trigger: 'backfill', started_by: KEY_ACTOR })
    // A snapshot run of the same source is not held up by the backfill waiting or running.
    expect((await postRun(app, 'coingecko')).statusCode).toBe(202)

    startWorker()
    const result = await queue.settled(job.job_id, AbortSignal.timeout(20_000))
    expect(result.status).toBe('succeeded')
    expect(await findRun(live.test.db.kysely, result.runId)).toMatchObject({
      source: 'coingecko',
      trigger: 'backfill',
      loaded: 72,
      startedBy: KEY_ACTOR,
    })
    await waitFor(
      async () =>
        (await listRuns(live.test.db.kysely, { limit: 5, trigger: 'api' })).find(
          (r) => r.status === 'succeeded',
        ),
      { what: 'the snapshot run to succeed', timeoutMs: 20_000 },
    )
  })
})
