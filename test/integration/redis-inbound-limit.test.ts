import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { registerErrorHandler } from '../../src/api/error-handler.js'
import { registerSecurity } from '../../src/api/security.js'
import { createRedis } from '../../src/redis/redis-connection.js'
import { testConfig } from '../helpers/pipeline-fixture.js'
import { connectRedis, deleteKeys, isRedisReachable, uniquePrefix } from '../helpers/shared-redis.js'

const HTTP = testConfig({ API_RATE_LIMIT: '5/1min' }).http
const apps: FastifyInstance[] = []

/** One API replica: the real security hooks and error handler in front of a single route. */
async function replica(redis: Redis, prefix: string): Promise<FastifyInstance> {
  const app = Fastify()
  apps.push(app)
  registerErrorHandler(app)
  await registerSecurity(app, HTTP, () => undefined, { redis, prefix })
  app.get('/api/v1/records', () => ({ data: [] }))
  await app.ready()
  return app
}

const get = (app: FastifyInstance, remoteAddress = '192.0.2.10') =>
  app.inject({ method: 'GET', url: '/api/v1/records', remoteAddress })

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

describe.skipIf(!(await isRedisReachable()))('inbound rate limit shared through Redis', () => {
  const prefix = uniquePrefix()
  const connections: Redis[] = []

  beforeAll(async () => {
    for (const n of [1, 2]) connections.push(await connectRedis(`coinpipe-test-api-${n}`))
  })
  afterEach(async () => {
    await deleteKeys(connections[0] as Redis, prefix)
  })
  afterAll(async () => {
    if (connections[0]) await deleteKeys(connections[0], prefix)
    for (const redis of connections) redis.disconnect()
  })

  it('counts a client once across replicas: the sixth request of 5/1min is refused', async () => {
    const [one, two] = await Promise.all(connections.map((redis) => replica(redis, prefix)))
    const answers = []
    for (const app of [one, one, one, two, two]) answers.push(await get(app as FastifyInstance))
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200])
    expect(answers[4]?.headers['x-ratelimit-remaining']).toBe('0')

    const refused = await get(two as FastifyInstance)

    expect(refused.statusCode).toBe(429)
    expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED' })
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(50)
    expect(await connections[0]?.exists(`${prefix}:api-rate-limit:ip:192.0.2.10`)).toBe(1)
    expect((await get(one as FastifyInstance, '192.0.2.11')).statusCode).toBe(200)
  })
})

describe('inbound rate limit while Redis is down', () => {
  it('answers every request, uncounted, rather than failing reads', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'producer', 'coinpipe-test-api-down')
    try {
      const app = await replica(down, uniquePrefix())
      for (let i = 0; i < 7; i++) expect((await get(app)).statusCode).toBe(200)
    } finally {
      down.disconnect()
    }
  })
})
