import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cliEnv, killStartedProcesses, startProcess, type ProcessResult } from '../helpers/cli.js'
import { containerEnv, onHost, redis as redisService, worker } from './container-files.js'

// The health checks of the worker and Redis services, run here as the containers would run them,
// against the real Redis (COINPIPE_TEST_REDIS_URL, else 127.0.0.1:6379). Only keys under this file's
// own QUEUE_PREFIX are written, and deleted after each test.

const REDIS_URL = process.env.COINPIPE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const HOST = hostname()
/** The liveness window the workers and the check agree on. */
const ALIVE_WINDOW_MS = 60_000
/** The worker service's healthcheck timeout: Docker counts a check still running then as failed. */
const CHECK_TIMEOUT_MS = Number(/^(\d+)s$/.exec(worker.healthcheck?.timeout ?? '')?.[1]) * 1000

const redisReachable = await reachable(REDIS_URL)
if (!redisReachable && process.env.CI)
  throw new Error(`Redis is required in CI but ${REDIS_URL} is unreachable`)
if (!redisReachable)
  console.warn(`\n[coinpipe tests] Redis at ${REDIS_URL} is unreachable: its tests are skipped.\n`)

async function reachable(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0 })
  probe.on('error', () => undefined)
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

/** A port nothing listens on: one the kernel just handed out and took back. */
async function unusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A TCP server on loopback that answers every chunk it receives with `reply` (or never, when undefined). */
async function fakeRedis(reply: string | undefined): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('data', () => {
      if (reply !== undefined) socket.write(reply)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** The worker service's check, run here in the worker service's environment with `vars` over it. */
async function runWorkerCheck(
  cwd: string,
  vars: Record<string, string>,
  argv = worker.healthcheck?.test.slice(1) ?? [],
): Promise<ProcessResult & { ms: number }> {
  const service = containerEnv({ POSTGRES_PASSWORD: 'only-in-this-test' }, worker)
  const [program, args] = onHost(argv)
  const startedAt = performance.now()
  const result = await startProcess(program, args, { cwd, env: cliEnv({ ...service, ...vars }) }).exited
  return { ...result, ms: performance.now() - startedAt }
}

describe('the worker health check, misconfigured', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-worker-health-'))
  })
  afterEach(async () => {
    await killStartedProcesses()
    rmSync(dir, { recursive: true, force: true })
  })

  it('exits 2, naming the variable, when the configuration is invalid', async () => {
    const result = await runWorkerCheck(dir, { REDIS_URL, QUEUE_PREFIX: 'not a prefix' })
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^unhealthy: .*QUEUE_PREFIX/)
  })

  it('exits 2 on a mode it does not know', async () => {
    const argv = [...(worker.healthcheck?.test.slice(1, -1) ?? []), 'wroker']
    const result = await runWorkerCheck(dir, { REDIS_URL }, argv)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('usage: healthcheck.js [worker]')
  })
})

describe.skipIf(!redisReachable)('the worker health check, run here against Redis', () => {
  const prefix = `coinpipe-test-health-${process.pid}-${Date.now()}`
  // The key the workers write, as the brief of queue mode fixes it: `<QUEUE_PREFIX>:etl:workers`.
  const workersKey = `${prefix}:etl:workers`
  let redis: Redis
  let dir: string

  beforeAll(() => {
    redis = new Redis(REDIS_URL)
  })
  afterAll(async () => {
    await redis.quit()
  })
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-worker-health-'))
  })
  afterEach(async () => {
    await killStartedProcesses()
    await redis.del(workersKey)
    rmSync(dir, { recursive: true, force: true })
  })

  /** The worker service's check, for this Redis and prefix. */
  const check = (vars: Record<string, string> = {}) =>
    runWorkerCheck(dir, { REDIS_URL, QUEUE_PREFIX: prefix, ...vars })
  const heartbeat = (member: string, ageMs: number) => redis.zadd(workersKey, Date.now() - ageMs, member)

  it('fails while no worker of this host has written a heartbeat', async () => {
    const result = await check()
    expect(result.code, result.stderr).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      `unhealthy: no worker of host ${HOST} wrote its heartbeat to ${workersKey} in the last 60 s (0 other workers did)`,
    ])
  })

  it('passes once a worker of this host has written a heartbeat within the minute', async () => {
    await heartbeat(`${HOST}:4242`, 0)
    const fresh = await check()
    expect(fresh.code, fresh.stderr).toBe(0)
    expect(fresh.stdout).toContain(`worker ${HOST}:4242 wrote its heartbeat to ${workersKey}`)

    // Three heartbeats of 15 s missed is still alive.
    await heartbeat(`${HOST}:4242`, ALIVE_WINDOW_MS - 15_000)
    const late = await check()
    expect(late.code, late.stderr).toBe(0)
    expect(late.stdout).toContain('45 s ago')
  })

  it("fails when this host's heartbeat is over a minute old, whatever other hosts' workers say", async () => {
    await heartbeat(`${HOST}:4242`, ALIVE_WINDOW_MS + 1_000)
    await heartbeat(`not-${HOST}:4242`, 0)
    await heartbeat(`${HOST}-2:4242`, 0)
    const result = await check()
    expect(result.code, result.stdout).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([
      `unhealthy: no worker of host ${HOST} wrote its heartbeat to ${workersKey} in the last 60 s (2 other workers did)`,
    ])
  })

  it('reads the heartbeats under QUEUE_PREFIX only', async () => {
    await heartbeat(`${HOST}:4242`, 0)
    const elsewhere = await check({ QUEUE_PREFIX: `${prefix}-other` })
    expect(elsewhere.code).toBe(1)
    expect(elsewhere.stderr).toContain(`${prefix}-other:etl:workers`)
  })

  it('exits 2, saying why, without REDIS_URL', async () => {
    const result = await check({ REDIS_URL: '' })
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toEqual([
      'unhealthy: REDIS_URL is not set; a worker runs only in queue mode',
    ])
  })

  it('fails at once, and exits, when nothing listens at REDIS_URL', async () => {
    const port = await unusedPort()
    const result = await check({ REDIS_URL: `redis://127.0.0.1:${port}` })
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toEqual([`unhealthy: Redis at 127.0.0.1:${port}: ECONNREFUSED`])
    // ioredis would reconnect forever: exiting this soon means the check gave up and closed it.
    expect(result.ms).toBeLessThan(2_000)
  })

  it('fails within the healthcheck timeout when Redis accepts the connection and never answers', async () => {
    const silent = await fakeRedis(undefined)
    try {
      const result = await check({ REDIS_URL: `redis://127.0.0.1:${silent.port}` })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/^unhealthy: Redis at 127\.0\.0\.1:\d+: no connection within \d+ ms\n$/)
      expect(result.ms).toBeLessThan(CHECK_TIMEOUT_MS)
    } finally {
      await silent.close()
    }
  })
})

describe.skipIf(!redisReachable)('the Redis health check, run here', () => {
  const test = redisService.healthcheck?.test ?? []
  const url = new URL(REDIS_URL)

  /** The check's shell command, with redis-cli pointed at `port` (in the container, its default). */
  function check(host: string, port: number): Promise<ProcessResult> {
    expect(test[0]).toBe('CMD-SHELL')
    const script = test[1]!.replace(/\bredis-cli\b/, `redis-cli -h ${host} -p ${port}`)
    return startProcess('sh', ['-c', script], { cwd: tmpdir(), env: cliEnv({}) }).exited
  }
  afterEach(async () => {
    await killStartedProcesses()
  })

  it('passes against a Redis that answers PONG', async () => {
    const result = await check(url.hostname, Number(url.port || 6379))
    expect(result.code, result.stderr).toBe(0)
  })

  it('fails on an error reply, which redis-cli alone exits 0 on, and when nothing listens', async () => {
    const loading = await fakeRedis('-LOADING Redis is loading the dataset in memory\r\n')
    try {
      const args = ['-h', '127.0.0.1', '-p', String(loading.port), 'ping']
      const bare = await startProcess('redis-cli', args, { cwd: tmpdir(), env: cliEnv({}) }).exited
      expect([bare.code, bare.stdout.trim()]).toEqual([0, 'LOADING Redis is loading the dataset in memory'])
      const result = await check('127.0.0.1', loading.port)
      expect(result.code).not.toBe(0)
    } finally {
      await loading.close()
    }
    const refused = await check('127.0.0.1', await unusedPort())
    expect(refused.code).not.toBe(0)
  })
})
