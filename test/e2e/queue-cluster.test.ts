import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../../fake-upstream/server.js'
import { EtlQueue } from '../../src/queue/etl-queue.js'
import {
  cliEnv,
  killStartedProcesses,
  logLines,
  runCli,
  startCli,
  type StartedProcess,
} from '../helpers/cli.js'
import { duplicateKeys } from '../helpers/live-fixture.js'
import {
  connectRedis,
  deleteKeys,
  isRedisReachable,
  redisAnswers,
  TEST_REDIS_URL,
  uniquePrefix,
} from '../helpers/shared-redis.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const API_KEY = 'k-queue-cluster-0123'

interface Serve {
  readonly process: StartedProcess
  readonly url: string
}

interface RunRow {
  readonly id: number
  readonly source: string
  readonly status: string
  readonly trigger: string
  readonly owner: string
  readonly errorCode: string | null
  readonly batches: number
  readonly loaded: number
}

/**
 * Queue mode as it is deployed: `serve` replicas and `coinpipe worker` processes, started from the
 * built CLI, sharing one PostgreSQL database and one Redis under a prefix of this test's own.
 */
describe.skipIf(!DIALECTS.includes('postgres') || !(await isRedisReachable()))(
  'a cluster of serve and worker processes',
  () => {
    let test: TestDatabase
    let fake: FakeUpstream
    let dir: string
    let prefix: string
    let redisUrl: string
    let queue: EtlQueue | undefined

    beforeEach(async () => {
      test = await createTestDatabase('postgres')
      dir = mkdtempSync(join(tmpdir(), 'coinpipe-cluster-'))
      prefix = uniquePrefix()
      redisUrl = TEST_REDIS_URL
    })

    afterEach(async () => {
      await killStartedProcesses()
      await queue?.close()
      queue = undefined
      if (redisUrl === TEST_REDIS_URL) {
        const redis = await connectRedis('queue-cluster cleanup')
        await deleteKeys(redis, prefix)
        redis.disconnect()
      }
      await fake.close()
      await test.destroy()
      rmSync(dir, { recursive: true, force: true })
    })

    const startFake = async (options: FakeUpstreamOptions = {}) => {
      fake = await startFakeUpstream(options)
    }

    /** What every process of the cluster reads. */
    const clusterEnv = (vars: Record<string, string> = {}) =>
      cliEnv({
        DATABASE_URL: test.url,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        QUEUE_LEASE_MS: '2000',
        SOURCES: 'coingecko,coinpaprika',
        API_KEYS: API_KEY,
        COINGECKO_BASE_URL: fake.coingeckoUrl,
        COINPAPRIKA_BASE_URL: fake.coinpaprikaUrl,
        COINGECKO_PER_PAGE: '25',
        COINGECKO_RATE_LIMIT: '1000/1s',
        COINPAPRIKA_RATE_LIMIT: '1000/1s',
        UPSTREAM_RETRY_BASE_MS: '10',
        IDENTITY_CONTRACT_LOOKUPS_PER_RUN: '0',
        IDENTITY_COINS_LIST_REFRESH_MS: '0',
        LOG_LEVEL: 'info',
        ...vars,
      })

    const startServe = async (vars: Record<string, string> = {}): Promise<Serve> => {
      const proc = startCli(['serve'], { cwd: dir, env: clusterEnv({ PORT: '0', ...vars }) })
      const serving = await waitFor(
        () => {
          if (proc.exitedYet()) throw new Error(`coinpipe serve exited early:\n${proc.stderr()}`)
          return logLines(proc.stdout()).find((line) => line.msg === 'coinpipe is serving')
        },
        { what: 'coinpipe serve to listen', timeoutMs: 30_000 },
      )
      return { process: proc, url: serving.url as string }
    }

    const startWorker = (vars: Record<string, string> = {}): StartedProcess =>
      startCli(['worker'], { cwd: dir, env: clusterEnv(vars) })

    const openQueue = async () => {
      queue = EtlQueue.open(redisUrl, prefix, 'queue-cluster test')
      await queue.connected(5_000)
      return queue
    }

    const workersSeen = async (count: number) => {
      const q = queue ?? (await openQueue())
      await waitFor(async () => (await q.workers(60_000).catch(() => [])).length >= count, {
        what: `${count} worker heartbeat(s)`,
        timeoutMs: 30_000,
      })
    }

    const runs = (): Promise<RunRow[]> =>
      test.db.kysely
        .selectFrom('etlRuns')
        .select(['id', 'source', 'status', 'trigger', 'owner', 'errorCode', 'batches', 'loaded'])
        .orderBy('id')
        .execute()

    const recordCount = async (source: string) => {
      const row = await test.db.kysely
        .selectFrom('records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('source', '=', source)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    }

    it('runs each source once per tick with two serve replicas and two workers', async () => {
      await startFake()
      const every3s = { ETL_SCHEDULE: '*/3 * * * * *' }
      await Promise.all([startServe(every3s), startServe(every3s)])
      startWorker()
      startWorker()
      const q = await openQueue()
      await workersSeen(2)

      // Four ticks of each source completed.
      const done = await waitFor(
        async () => {
          const jobs = await q.queue.getJobs(['completed'], 0, -1)
          const perSource = (source: string) => jobs.filter((job) => job.data.source === source)
          return perSource('coingecko').length >= 4 && perSource('coinpaprika').length >= 4 && jobs
        },
        { what: 'four ticks of each source', timeoutMs: 40_000 },
      )
      for (const source of ['coingecko', 'coinpaprika']) {
        const jobs = done.filter((job) => job.data.source === source)
        // One job per tick: ids are the scheduler's and the tick's, and the ticks are 3 s apart.
        const ticks = jobs.map((job) => Number(/^repeat:etl:\w+:(\d+)$/.exec(job.id!)?.[1])).sort()
        expect(new Set(ticks).size).toBe(ticks.length)
        for (const tick of ticks) expect(tick % 3000).toBe(0)
        // Each job its own run, every run by one of the two workers.
        const runIds = jobs.map((job) => job.returnvalue.runId)
        expect(new Set(runIds).size).toBe(runIds.length)
      }
      const history = await runs()
      expect(history.filter((run) => run.status === 'running').length).toBeLessThanOrEqual(2)
      const finished = history.filter((run) => run.status !== 'running')
      expect(finished.every((run) => run.trigger === 'schedule' && run.status === 'succeeded')).toBe(true)
      // The scheduled runs a source made never overlap, and no record was loaded twice.
      expect(await duplicateKeys(test, 'coingecko')).toBe(0)
      expect(await duplicateKeys(test, 'coinpaprika')).toBe(0)
      expect(new Set(history.map((run) => run.owner.split(':')[1])).size).toBeLessThanOrEqual(2)
    })

    it('finishes the job of a worker killed with kill -9 on another worker, with the records a clean run loads', async () => {
      // 500 markets in pages of 10, ten requests a second: a run of about five seconds.
      await startFake({ coingeckoMarkets: 500 })
      const slow = { SOURCES: 'coingecko', COINGECKO_PER_PAGE: '10', COINGECKO_MAX_PAGES: '60' }

      // The reference: the same snapshot loaded in-process into a database of its own.
      const reference = await createTestDatabase('postgres')
      try {
        const clean = await runCli(['etl', 'run', '--source', 'coingecko', '--json'], {
          cwd: dir,
          env: { ...clusterEnv(slow), REDIS_URL: '', DATABASE_URL: reference.url },
          timeoutMs: 60_000,
        })
        expect(clean.code, clean.stderr).toBe(0)
        const expected = await reference.count('records')
        expect(expected).toBeGreaterThanOrEqual(500)

        const pacing = { ...slow, COINGECKO_RATE_LIMIT: '10/1s' }
        const workers = [startWorker(pacing), startWorker(pacing)]
        await workersSeen(2)
        const asking = startCli(['etl', 'run', '--enqueue', '--source', 'coingecko', '--json'], {
          cwd: dir,
          env: clusterEnv(slow),
        })
        const victim = await waitFor(
          async () => (await runs()).find((run) => run.status === 'running' && run.batches >= 5),
          { what: 'five batches of the run to commit', timeoutMs: 30_000 },
        )
        const victimPid = Number(victim.owner.split(':')[1])
        const killed = workers.find((worker) => worker.pid === victimPid)
        expect(killed, `the run's owner ${victim.owner} is one of the workers`).toBeDefined()
        process.kill(victimPid, 'SIGKILL')

        const result = await waitFor(() => asking.exitedYet() && asking.exited, {
          what: 'etl run --enqueue to get its result',
          timeoutMs: 60_000,
        })
        expect(result.code, result.stderr).toBe(0)
        const [summary] = (JSON.parse(result.stdout) as { runs: { id: number; status: string }[] }).runs
        expect(summary).toMatchObject({ status: 'succeeded' })

        const history = await runs()
        expect(history.find((run) => run.id === victim.id)).toMatchObject({
          status: 'failed',
          errorCode: 'RUN_INTERRUPTED',
        })
        const survivor = workers.find((worker) => worker !== killed)!
        expect(history.find((run) => run.id === summary!.id)?.owner).toMatch(new RegExp(`:${survivor.pid}$`))
        expect(await recordCount('coingecko')).toBe(expected)
        expect(await duplicateKeys(test, 'coingecko')).toBe(0)
        // The retry started from the checkpoint: it loaded only what the killed run had not.
        const victimLoaded = history.find((run) => run.id === victim.id)!.loaded
        expect(victimLoaded).toBeGreaterThan(0)
        expect(history.find((run) => run.id === summary!.id)?.loaded).toBe(expected - victimLoaded)
      } finally {
        await reference.destroy()
      }
    })

    it('hands the job of a worker stopped with SIGTERM to another after its batch in flight, and keeps etl run off the source meanwhile', async () => {
      await startFake({ coingeckoMarkets: 300 })
      const pacing = {
        SOURCES: 'coingecko',
        COINGECKO_PER_PAGE: '10',
        COINGECKO_MAX_PAGES: '60',
        COINGECKO_RATE_LIMIT: '10/1s',
      }
      const workers = [startWorker(pacing), startWorker(pacing)]
      const q = await openQueue()
      await workersSeen(2)
      const { jobId } = await q.enqueue('coingecko', 'api')
      const first = await waitFor(
        async () => (await runs()).find((run) => run.status === 'running' && run.batches >= 3),
        { what: 'three batches of the run to commit', timeoutMs: 30_000 },
      )

      // A run by hand on any machine of the cluster yields to the worker's, naming it.
      const byHand = await runCli(['etl', 'run', '--source', 'coingecko'], {
        cwd: dir,
        env: clusterEnv(pacing),
      })
      expect(byHand.code).toBe(1)
      expect(byHand.stderr).toContain('a run of coingecko is in progress')
      expect(byHand.stderr).toContain(`job ${jobId}`)

      const owner = workers.find((worker) => first.owner.endsWith(`:${worker.pid}`))!
      const signalled = Date.now()
      process.kill(owner.pid, 'SIGTERM')
      const stopped = await owner.exited
      expect(stopped.code, stopped.stderr).toBe(0)
      expect(Date.now() - signalled).toBeLessThan(5_000)
      expect(logLines(stopped.stdout).map((line) => line.msg)).toContain(
        'job released after its batch committed',
      )

      const result = await q.settled(jobId, AbortSignal.timeout(30_000))
      expect(result.status).toBe('succeeded')
      const history = await runs()
      const cancelled = history.find((run) => run.id === first.id)!
      expect(cancelled).toMatchObject({ status: 'partial', errorCode: 'RUN_CANCELLED' })
      const other = workers.find((worker) => worker !== owner)!
      expect(history.find((run) => run.id === result.runId)?.owner).toMatch(new RegExp(`:${other.pid}$`))
      expect(await recordCount('coingecko')).toBe(
        cancelled.loaded + history.find((run) => run.id === result.runId)!.loaded,
      )
      expect(await duplicateKeys(test, 'coingecko')).toBe(0)
    })

    it('keeps three workers under one request limit for the whole cluster', async () => {
      const limit = { points: 4, windowMs: 1000 }
      await startFake({ limits: { coingecko: limit } })
      const vars = { SOURCES: 'coingecko', COINGECKO_RATE_LIMIT: '4/1s', COINGECKO_PER_PAGE: '25' }
      for (let i = 0; i < 3; i++) startWorker(vars)
      const q = await openQueue()
      await workersSeen(3)

      // Runs back to back, each taken by whichever worker is free, so consecutive calls come from
      // different processes (the source's lease keeps two runs of it from overlapping; the limit
      // shared in Redis is what spaces the calls of one run after another's, jitter included).
      const owners = new Set<string>()
      for (let i = 0; i < 8; i++) {
        const { jobId } = await q.enqueue('coingecko', 'api')
        const result = await q.settled(jobId, AbortSignal.timeout(30_000))
        expect(result.status).toBe('succeeded')
        owners.add((await runs()).find((run) => run.id === result.runId)!.owner)
      }
      expect(owners.size, 'the runs were spread over the workers').toBeGreaterThan(1)
      expect(fake.count('coingecko')).toBeGreaterThanOrEqual(8 * 2)
      expect(fake.requests.filter((r) => r.status === 429)).toEqual([])
      expect(fake.maxInWindow('coingecko', limit.windowMs)).toBeLessThanOrEqual(limit.points)
    })

    it('keeps serving reads while its Redis is down, and the cluster recovers when it returns', async () => {
      await startFake()
      const port = await freePort()
      redisUrl = `redis://127.0.0.1:${port}`
      let redis = await startRedisServer(port, dir)
      try {
        const serve = await startServe({ SOURCES: 'coingecko' })
        const worker = startWorker({ SOURCES: 'coingecko' })
        await workersSeen(1)
        const post = () =>
          fetch(`${serve.url}/api/v1/runs`, {
            method: 'POST',
            headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ source: 'coingecko' }),
          })
        expect((await post()).status).toBe(202)
        await waitFor(async () => (await runs()).find((run) => run.status === 'succeeded'), {
          what: 'the first run',
          timeoutMs: 20_000,
        })
        await queue?.close()
        queue = undefined

        redis.kill('SIGKILL')
        await new Promise((resolve) => redis.once('exit', resolve))
        const reads = await fetch(`${serve.url}/api/v1/records?limit=5`)
        expect(reads.status).toBe(200)
        const health = (await (await fetch(`${serve.url}/health`)).json()) as {
          status: string
          queue: { status: string }
        }
        expect(health).toMatchObject({ status: 'degraded', queue: { status: 'down' } })
        const refused = await post()
        expect(refused.status).toBe(503)
        expect(refused.headers.get('content-type')).toContain('application/problem+json')
        expect(await refused.json()).toMatchObject({ code: 'QUEUE_UNAVAILABLE' })

        // A few seconds of outage, then Redis comes back (empty: nothing persisted it).
        await new Promise((resolve) => setTimeout(resolve, 3_000))
        expect(serve.process.exitedYet()).toBe(false)
        expect(worker.exitedYet()).toBe(false)
        redis = await startRedisServer(port, dir)

        await waitFor(
          async () => {
            const answer = await fetch(`${serve.url}/health`)
            const body = (await answer.json()) as { queue: { status: string; workers: unknown[] } }
            return body.queue.status === 'ok' && body.queue.workers.length === 1
          },
          { what: 'the worker to be seen again', timeoutMs: 30_000 },
        )
        const accepted = await waitFor(async () => ((await post()).status === 202 ? true : undefined), {
          what: 'POST to be accepted again',
          timeoutMs: 10_000,
        })
        expect(accepted).toBe(true)
        await waitFor(async () => (await runs()).filter((run) => run.status === 'succeeded').length === 2, {
          what: 'a run by the recovered worker',
          timeoutMs: 30_000,
        })
        expect(serve.process.exitedYet()).toBe(false)
        expect(worker.exitedYet()).toBe(false)
      } finally {
        redis.kill('SIGKILL')
      }
    })
  },
)

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A Redis of the test's own on `port`, persisting nothing, answering PING before this resolves. */
async function startRedisServer(port: number, dir: string) {
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  )
  await waitFor(() => redisAnswers(`redis://127.0.0.1:${port}`), {
    what: `redis-server on port ${port}`,
    timeoutMs: 10_000,
  })
  return server
}
