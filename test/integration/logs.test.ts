import { Writable } from 'node:stream'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { parseDatabaseUrl } from '../../src/config.js'
import { openDatabase } from '../../src/db/database.js'
import { createLogger } from '../../src/logger.js'
import { aRecord, buildTestApp } from '../helpers/api-fixture.js'
import { startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

const DEMO_KEY = 'CG-demoKeyForLogs0123456789'
const PAPRIKA_KEY = 'cp-paidKeyForLogs0123456789'
const API_KEY = 'api-key-for-logs-0123456789'
const WRONG_API_KEY = 'wrong-api-key-0123456789abc'
const QUERY_SECRET = 'querySecret0123456789'
const DB_PASSWORD = 'dbPassw0rd-0123456789'

/** Every line of `text`, each of which must be one JSON object. */
function parseLines(text: string): Record<string, unknown>[] {
  const lines = text.split('\n').filter((line) => line !== '')
  expect(lines.length).toBeGreaterThan(0)
  return lines.map((line) => {
    let parsed: unknown
    expect(() => (parsed = JSON.parse(line) as unknown), line).not.toThrow()
    expect(parsed).toBeTypeOf('object')
    return parsed as Record<string, unknown>
  })
}

function memorySink() {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  return { stream, text: () => text }
}

describe.each(DIALECTS)('structured logs, on %s', (dialect) => {
  let live: LiveFixture | undefined
  let test: TestDatabase | undefined
  afterEach(async () => {
    await live?.close()
    await test?.destroy()
    live = undefined
    test = undefined
  })

  it('tags every line of an ETL run with run_id and source, every batch line with batch_id, and logs no key', async () => {
    live = await startLive(
      dialect,
      { COINGECKO_API_KEY: DEMO_KEY, COINPAPRIKA_API_KEY: PAPRIKA_KEY },
      { keys: { coingecko: { key: DEMO_KEY, plan: 'demo' }, coinpaprika: PAPRIKA_KEY } },
    )
    // A retry (logged before its page is a batch) and a batch that fails to transform (logged as one).
    live.fake.fault({ source: 'coingecko', page: 1, kind: 'rate_limit', retryAfter: 0 })
    live.fake.fault({
      source: 'coingecko',
      page: 2,
      kind: 'drift',
      drift: { rename: ['current_price', 'price_usd_current'] },
    })
    const runs = [await live.run('coingecko'), await live.run('coinpaprika')]
    expect(runs.map((r) => r.status)).toEqual(['partial', 'succeeded'])

    const lines = parseLines(live.logs())
    const runIds = new Map(runs.map((r) => [r.id, r.source]))
    for (const line of lines) {
      expect(typeof line.run_id, JSON.stringify(line)).toBe('number')
      expect(typeof line.source, JSON.stringify(line)).toBe('string')
      expect(runIds.get(line.run_id as number)).toBe(line.source)
      expect(line).not.toHaveProperty('runId')
      expect(line).not.toHaveProperty('batchId')
    }
    const batches = await live.test.db.kysely.selectFrom('rawBatches').select(['id', 'runId']).execute()
    const batchLines = lines.filter((line) => String(line.msg).startsWith('batch '))
    expect(batchLines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['batch loaded', 'batch failed to transform']),
    )
    for (const line of batchLines) {
      const batch = batches.find((b) => b.id === line.batch_id)
      expect(batch, JSON.stringify(line)).toBeDefined()
      expect(batch!.runId).toBe(line.run_id)
    }
    expect(lines.map((line) => line.msg)).toContain('upstream call failed; retrying')

    for (const secret of [DEMO_KEY, PAPRIKA_KEY]) expect(live.logs()).not.toContain(secret)
  })

  it('tags every line of an HTTP request with its request_id, handler and error lines included, and logs no key', async () => {
    test = await createTestDatabase(dialect)
    const sink = memorySink()
    const log = createLogger('debug', { pretty: false, destination: sink.stream })
    const { app } = await buildTestApp(test, { API_KEYS: API_KEY }, { log })
    // A second handle on the same database, closed: the health check and the reads fail, and log why.
    const closedDb = await openDatabase(parseDatabaseUrl(test.url))
    await sql`select 1`.execute(closedDb.kysely)
    await closedDb.close()
    const broken = await buildTestApp({ ...test, db: closedDb }, { API_KEYS: API_KEY }, { log })
    const before = sink.text().length
    try {
      const responses = [
        await app.inject({ url: '/api/v1/records', headers: { authorization: `Bearer ${API_KEY}` } }),
        await app.inject({
          method: 'POST',
          url: '/api/v1/records',
          headers: { 'x-api-key': API_KEY },
          payload: aRecord(),
        }),
        await app.inject({
          method: 'POST',
          url: '/api/v1/records',
          headers: { authorization: `Bearer ${WRONG_API_KEY}` },
          payload: aRecord(),
        }),
        await app.inject({ url: `/api/v1/records?limit=1&api_key=${QUERY_SECRET}&token=${QUERY_SECRET}` }),
        await broken.app.inject({ url: '/health', headers: { 'x-api-key': API_KEY } }),
        await broken.app.inject({ url: '/api/v1/records', headers: { authorization: `Bearer ${API_KEY}` } }),
      ]
      expect(responses.map((r) => r.statusCode)).toEqual([200, 201, 401, expect.any(Number), 503, 500])

      const lines = parseLines(sink.text().slice(before))
      const ids = responses.map((r) => r.headers['x-request-id'])
      for (const line of lines) {
        expect(line, JSON.stringify(line)).toHaveProperty('request_id')
        expect(ids).toContain(line.request_id)
      }
      const completed = lines.filter((line) => line.msg === 'request completed')
      expect(completed.map((line) => line.request_id)).toEqual(ids)
      // The write names its caller by the key's hash prefix; the refused one names nobody.
      expect(completed[1]?.actor).toMatch(/^key:[0-9a-f]{32}$/)
      expect(completed[2]).not.toHaveProperty('actor')
      // Lines written by a route handler (the health check) and by the error handler carry it too.
      expect(lines.find((line) => line.msg === 'health check cannot reach the database')?.request_id).toBe(
        ids[4],
      )
      expect(lines.filter((line) => line.request_id === ids[5]).length).toBeGreaterThan(1)

      for (const secret of [API_KEY, WRONG_API_KEY, QUERY_SECRET]) expect(sink.text()).not.toContain(secret)
    } finally {
      await broken.app.close()
      await app.close()
    }
  })
})

describe('log redaction', () => {
  it('blanks credential headers, key fields and secrets in URLs wherever a line carries them', () => {
    const sink = memorySink()
    const log = createLogger('debug', { pretty: false, destination: sink.stream })
    const databaseUrl = `postgres://app:${DB_PASSWORD}@db.internal:5432/coinpipe`

    log.info(
      {
        headers: {
          authorization: `Bearer ${API_KEY}`,
          'x-api-key': API_KEY,
          'x-cg-demo-api-key': DEMO_KEY,
          'x-cg-pro-api-key': DEMO_KEY,
          accept: 'application/json',
        },
      },
      'outbound call',
    )
    log.info({ req: { headers: { authorization: PAPRIKA_KEY } } }, 'inbound call')
    log
      .child({ run_id: 1, source: 'coingecko' })
      .warn(
        { url: `https://api.coingecko.com/api/v3/coins/markets?page=1&x_cg_demo_api_key=${DEMO_KEY}` },
        'upstream call failed; retrying',
      )
    log.info({ database: databaseUrl, apiKey: API_KEY }, 'coinpipe is serving')
    log.error({ err: new Error(`cannot connect to ${databaseUrl}`) }, `lost ${databaseUrl}`)
    log.info(
      { config: { api: { keys: [API_KEY] }, sources: { coinpaprika: { apiKey: PAPRIKA_KEY } } } },
      'config',
    )

    const text = sink.text()
    for (const secret of [API_KEY, DEMO_KEY, PAPRIKA_KEY, DB_PASSWORD]) expect(text).not.toContain(secret)
    const lines = parseLines(text)
    expect(lines).toHaveLength(6)
    expect(lines[0]).toMatchObject({
      headers: {
        authorization: '[redacted]',
        'x-api-key': '[redacted]',
        'x-cg-demo-api-key': '[redacted]',
        'x-cg-pro-api-key': '[redacted]',
        accept: 'application/json',
      },
    })
    expect(lines[2]).toMatchObject({
      url: 'https://api.coingecko.com/api/v3/coins/markets?page=1&x_cg_demo_api_key=[redacted]',
    })
    expect(lines[3]).toMatchObject({ database: 'postgres://app:[redacted]@db.internal:5432/coinpipe' })
    expect(lines[4]).toMatchObject({ msg: 'lost postgres://app:[redacted]@db.internal:5432/coinpipe' })
  })
})
