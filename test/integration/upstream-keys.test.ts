import { afterEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/schema.js'
import { startLive, type LiveFixture } from '../helpers/live-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

const DEMO_KEY = 'CG-demoKey0123456789abcdef'
const PRO_KEY = 'CG-proKey0123456789abcdef'
const PAPRIKA_KEY = 'cp-paidKey0123456789abcdef'

const TABLES: (keyof Database)[] = [
  'assets',
  'assetAliases',
  'records',
  'rawBatches',
  'etlRuns',
  'checkpoints',
  'rejections',
  'schemaChanges',
]

/** Everything the database holds, as one string to search. */
async function dumpDatabase(live: LiveFixture): Promise<string> {
  const parts: string[] = []
  for (const table of TABLES)
    parts.push(JSON.stringify(await live.test.db.kysely.selectFrom(table).selectAll().execute()))
  return parts.join('\n')
}

async function expectKeyNowhere(live: LiveFixture, key: string) {
  expect(live.logs().length).toBeGreaterThan(0)
  expect(live.logs()).not.toContain(key)
  expect(await dumpDatabase(live)).not.toContain(key)
}

describe.each(DIALECTS)('upstream keys, on %s', (dialect) => {
  let live: LiveFixture
  afterEach(() => live?.close())

  it('sends a CoinGecko Demo key in x-cg-demo-api-key and nowhere else', async () => {
    live = await startLive(
      dialect,
      { COINGECKO_API_KEY: DEMO_KEY },
      { keys: { coingecko: { key: DEMO_KEY, plan: 'demo' } } },
    )
    expect(await live.run('coingecko')).toMatchObject({ status: 'succeeded' })
    for (const request of live.fake.requests) {
      expect(request.headers['x-cg-demo-api-key']).toBe(DEMO_KEY)
      expect(request.headers['x-cg-pro-api-key']).toBeUndefined()
      expect(JSON.stringify(request.query)).not.toContain(DEMO_KEY)
    }
    await expectKeyNowhere(live, DEMO_KEY)
  })

  it('sends a Pro key in x-cg-pro-api-key when COINGECKO_API_PLAN=pro', async () => {
    live = await startLive(
      dialect,
      { COINGECKO_API_KEY: PRO_KEY, COINGECKO_API_PLAN: 'pro' },
      { keys: { coingecko: { key: PRO_KEY, plan: 'pro' } } },
    )
    expect(await live.run('coingecko')).toMatchObject({ status: 'succeeded' })
    expect(live.fake.requests[0]!.headers['x-cg-pro-api-key']).toBe(PRO_KEY)
    expect(live.fake.requests[0]!.headers['x-cg-demo-api-key']).toBeUndefined()
    await expectKeyNowhere(live, PRO_KEY)
  })

  it('a key for the other plan is rejected by the upstream at once, and not retried', async () => {
    live = await startLive(
      dialect,
      { COINGECKO_API_KEY: PRO_KEY },
      { keys: { coingecko: { key: PRO_KEY, plan: 'pro' } } },
    )
    const run = await live.run('coingecko')
    expect(run).toMatchObject({ status: 'failed', errorCode: 'SOURCE_REQUEST_REJECTED' })
    expect(run.errorMessage).toMatch(/^coingecko answered HTTP 400: /)
    expect(live.fake.count('coingecko')).toBe(1)
    await expectKeyNowhere(live, PRO_KEY)
  })

  it('sends a CoinPaprika key raw in Authorization', async () => {
    live = await startLive(
      dialect,
      { COINPAPRIKA_API_KEY: PAPRIKA_KEY },
      { keys: { coinpaprika: PAPRIKA_KEY } },
    )
    expect(await live.run('coinpaprika')).toMatchObject({ status: 'succeeded' })
    expect(live.fake.requests[0]!.headers.authorization).toBe(PAPRIKA_KEY)
    await expectKeyNowhere(live, PAPRIKA_KEY)
  })

  it('a key the upstream echoes back is scrubbed before the payload is stored', async () => {
    live = await startLive(
      dialect,
      { COINPAPRIKA_API_KEY: PAPRIKA_KEY },
      { keys: { coinpaprika: PAPRIKA_KEY } },
    )
    live.fake.fault({ source: 'coinpaprika', kind: 'drift', drift: { add: ['echoed_key', PAPRIKA_KEY] } })
    expect(await live.run('coinpaprika')).toMatchObject({ status: 'succeeded' })
    const raw = await live.test.db.kysely.selectFrom('rawBatches').select('payload').executeTakeFirstOrThrow()
    expect(raw.payload).toContain('"echoed_key":"[redacted]"')
    await expectKeyNowhere(live, PAPRIKA_KEY)
  })

  it('a wrong key stops the source with SOURCE_AUTH_FAILED, and the key is in no log, row or error', async () => {
    const wrong = 'CG-wrongKey0123456789abcdef'
    live = await startLive(
      dialect,
      { COINGECKO_API_KEY: wrong },
      { keys: { coingecko: { key: DEMO_KEY, plan: 'demo' } } },
    )
    const run = await live.run('coingecko')
    expect(run.status).toBe('failed')
    expect(['SOURCE_AUTH_FAILED', 'SOURCE_REQUEST_REJECTED']).toContain(run.errorCode)
    expect(live.fake.count('coingecko')).toBe(1)
    expect(run.errorMessage).not.toContain(wrong)
    await expectKeyNowhere(live, wrong)
  })
})
