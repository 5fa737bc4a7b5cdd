import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { encodeCursor } from '../../src/api/page-cursor.js'
import { insertRemaps } from '../../src/db/repositories/identity-repository.js'
import {
  anyNumber,
  anyString,
  type ApiFixture,
  aRecord,
  buildTestApp,
  expectProblem,
  importCsv,
  ISO_TIME,
  matching,
  postRecord,
  startApi,
} from '../helpers/api-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

interface Alias {
  source: string
  source_asset_id: string
  method: string
  confidence: number
}

interface AssetItem {
  id: string
  symbol: string
  name: string
  created_at: string
  aliases: Alias[]
}

interface Page<T> {
  data: T[]
  page: { limit: number; next_cursor: string | null }
  meta: { request_id: string; api_latency_ms: number }
}

interface Latest {
  source: string
  observed_at: string
  age_seconds: number
  price_usd: number | null
  market_cap_usd: number | null
  volume_24h_usd: number | null
  change_24h_pct: number | null
  rank: number | null
  stale: boolean
}

interface AssetDetail extends AssetItem {
  latest: Latest[]
  consensus_price_usd: number | null
  spread_pct: number | null
  stale_sources: string[]
}

interface Conflict {
  source: string
  source_asset_id: string
  symbol: string
  name: string | null
  asset_id: string
  reason: string
  detail: string
  candidates: {
    asset_id: string
    source: string
    source_asset_id: string
    symbol: string
    name: string | null
    why: string
  }[]
  detected_at: string
}

/** Our clock in these tests: an hour after the newest observation of the consensus case. */
const NOW = '2024-03-02T12:00:00.000Z'

/** Seven assets from one CSV file, with names holding LIKE's wildcards. */
const CATALOG_CSV = [
  'date,symbol,name,price_usd',
  '2024-03-01,BTC,Bitcoin,60000',
  '2024-03-01,WBTC,Wrapped Bitcoin,59900',
  '2024-03-01,ETH,Ethereum,3000',
  '2024-03-01,DOGE,Dogecoin,0.1',
  '2024-03-01,ADA,Cardano,0.6',
  '2024-03-01,USC,Under_score,1',
  '2024-03-01,PCT,100% Real,2',
].join('\n')
const CATALOG_IDS = [
  '100-real',
  'bitcoin',
  'cardano',
  'dogecoin',
  'ethereum',
  'under-score',
  'wrapped-bitcoin',
]

describe.each(DIALECTS)('assets API on %s', (dialect) => {
  let api: ApiFixture
  beforeEach(async () => {
    api = await startApi(dialect, {}, { now: () => new Date(NOW) })
  })
  afterEach(() => api.close())

  const get = (url: string) => api.app.inject({ method: 'GET', url })
  const list = async <T>(url: string): Promise<Page<T>> => {
    const response = await get(url)
    expect(response.statusCode, response.body).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    return response.json<Page<T>>()
  }
  const detail = async (id: string): Promise<AssetDetail> => {
    const response = await get(`/api/v1/assets/${id}`)
    expect(response.statusCode, response.body).toBe(200)
    return response.json<{ data: AssetDetail }>().data
  }
  const post = async (body: Record<string, unknown>) => {
    const response = await postRecord(api.app, aRecord(body))
    expect(response.statusCode, response.body).toBe(201)
  }
  const ids = (page: Page<AssetItem>) => page.data.map((a) => a.id)

  describe('GET /api/v1/assets', () => {
    beforeEach(async () => {
      expect(await importCsv(api.ctx, CATALOG_CSV)).toMatchObject({ status: 'succeeded', loaded: 7 })
    })

    it('lists every asset by id with its aliases, in the records envelope', async () => {
      await post({ symbol: 'BTC', name: 'Bitcoin', price_usd: 60_100 })
      const page = await list<AssetItem>('/api/v1/assets')

      expect(new Set(ids(page))).toEqual(new Set(CATALOG_IDS))
      expect(page.page).toEqual({ limit: 100, next_cursor: null })
      expect(page.meta).toEqual({ request_id: anyString(), api_latency_ms: anyNumber() })
      expect(page.data.find((a) => a.id === 'bitcoin')).toEqual({
        id: 'bitcoin',
        symbol: 'BTC',
        name: 'Bitcoin',
        created_at: matching(ISO_TIME),
        aliases: [
          { source: 'csv', source_asset_id: 'BTC:bitcoin', method: 'new', confidence: 1 },
          { source: 'manual', source_asset_id: 'BTC:bitcoin', method: 'symbol_name', confidence: 0.9 },
        ],
      })
      expect(page.data.find((a) => a.id === 'ethereum')?.aliases).toEqual([
        { source: 'csv', source_asset_id: 'ETH:ethereum', method: 'new', confidence: 1 },
      ])
    })

    it.each([
      ['bitcoin', ['bitcoin', 'wrapped-bitcoin']],
      ['BTC', ['bitcoin', 'wrapped-bitcoin']],
      ['eTHer', ['ethereum']],
      ['dano', ['cardano']],
      ['_', ['under-score']],
      ['%', ['100-real']],
      ['\\', []],
      ['nothing-like-it', []],
    ])('finds by q=%s in the id, the symbol or the name, any case', async (q, expected) => {
      const page = await list<AssetItem>(`/api/v1/assets?q=${encodeURIComponent(q)}`)
      expect(ids(page).sort()).toEqual(expected)
    })

    it.each([
      ['btc', ['bitcoin']],
      [' Wbtc ', ['wrapped-bitcoin']],
      ['BT', []],
    ])('finds by the exact symbol=%s, any case', async (symbol, expected) => {
      const page = await list<AssetItem>(`/api/v1/assets?symbol=${encodeURIComponent(symbol)}`)
      expect(ids(page)).toEqual(expected)
    })

    it('combines q and symbol', async () => {
      expect(ids(await list<AssetItem>('/api/v1/assets?q=wrapped&symbol=BTC'))).toEqual([])
      expect(ids(await list<AssetItem>('/api/v1/assets?q=wrapped&symbol=WBTC'))).toEqual(['wrapped-bitcoin'])
    })

    it('walks keyset pages of 2 that together are the whole list, each asset once', async () => {
      const whole = ids(await list<AssetItem>('/api/v1/assets?limit=1000'))
      const seen: string[] = []
      let url = '/api/v1/assets?limit=2'
      for (let pages = 1; ; pages++) {
        const page = await list<AssetItem>(url)
        expect(page.data.length).toBeLessThanOrEqual(2)
        expect(page.page.limit).toBe(2)
        seen.push(...ids(page))
        if (page.page.next_cursor === null) {
          expect(pages).toBe(4)
          break
        }
        expect(page.data).toHaveLength(2)
        expect(page.data.every((a) => a.aliases.length === 1)).toBe(true)
        url = `/api/v1/assets?limit=2&cursor=${encodeURIComponent(page.page.next_cursor)}`
      }
      expect(seen).toEqual(whole)
      expect(new Set(seen).size).toBe(CATALOG_IDS.length)
      expect(new Set(seen)).toEqual(new Set(CATALOG_IDS))
    })

    it('keeps a filter across pages', async () => {
      const first = await list<AssetItem>('/api/v1/assets?q=bitcoin&limit=1')
      expect(first.page.next_cursor).not.toBeNull()
      const second = await list<AssetItem>(
        `/api/v1/assets?q=bitcoin&limit=1&cursor=${encodeURIComponent(first.page.next_cursor!)}`,
      )
      expect([...ids(first), ...ids(second)].sort()).toEqual(['bitcoin', 'wrapped-bitcoin'])
      expect(second.page.next_cursor).toBeNull()
    })

    it.each([
      ['limit', 'limit=0'],
      ['limit', 'limit=1001'],
      ['limit', 'limit=two'],
      ['cursor', 'cursor=not-a-cursor'],
      ['cursor', `cursor=${encodeCursor(['bitcoin'], 'desc')}`],
      ['cursor', `cursor=${encodeCursor([42], 'asc')}`],
      ['cursor', `cursor=${encodeCursor(['a\u0001b'], 'asc')}`],
      ['q', `q=${'x'.repeat(101)}`],
      ['q', 'q='],
      ['symbol', `symbol=${'X'.repeat(33)}`],
      ['sort', 'sort=id'],
    ])('answers a 400 problem naming %s for %s', async (field, query) => {
      const problem = expectProblem(await get(`/api/v1/assets?${query}`), 400, field)
      expect(problem.code).toBe('VALIDATION_FAILED')
    })
  })

  describe('GET /api/v1/assets/{id}', () => {
    /** Bitcoin from four sources: three observed together an hour ago, CoinGecko three hours before them. */
    const seedFourSources = async () => {
      await post({ observed_at: '2024-03-01T11:00:00Z', price_usd: 55_000 })
      await post({ observed_at: '2024-03-02T11:00:00Z', price_usd: 60_000, market_cap_usd: 1.2e12, rank: 1 })
      const run = await importCsv(
        api.ctx,
        'timestamp,symbol,name,price_usd,volume_24h_usd\n2024-03-02T11:00:00Z,BTC,Bitcoin,61000,3.5e10\n',
      )
      expect(run).toMatchObject({ status: 'succeeded', loaded: 1 })
      await post({
        source: 'coinpaprika',
        observed_at: '2024-03-02T11:00:00Z',
        price_usd: 62_500,
        change_24h_pct: -1.5,
      })
      await post({ source: 'coingecko', observed_at: '2024-03-02T08:00:00Z', price_usd: 50_000 })
    }

    it('answers the latest record per source, the median of the fresh ones and their spread', async () => {
      await seedFourSources()
      const asset = await detail('bitcoin')

      expect(asset).toMatchObject({
        id: 'bitcoin',
        symbol: 'BTC',
        name: 'Bitcoin',
        created_at: matching(ISO_TIME),
      })
      expect(asset.aliases.map((a) => a.source)).toEqual(['coingecko', 'coinpaprika', 'csv', 'manual'])
      expect(asset.latest).toEqual([
        {
          source: 'coingecko',
          observed_at: '2024-03-02T08:00:00.000Z',
          age_seconds: 4 * 3600,
          price_usd: 50_000,
          market_cap_usd: null,
          volume_24h_usd: null,
          change_24h_pct: null,
          rank: null,
          stale: true,
        },
        {
          source: 'coinpaprika',
          observed_at: '2024-03-02T11:00:00.000Z',
          age_seconds: 3600,
          price_usd: 62_500,
          market_cap_usd: null,
          volume_24h_usd: null,
          change_24h_pct: -1.5,
          rank: null,
          stale: false,
        },
        {
          source: 'csv',
          observed_at: '2024-03-02T11:00:00.000Z',
          age_seconds: 3600,
          price_usd: 61_000,
          market_cap_usd: null,
          volume_24h_usd: 3.5e10,
          change_24h_pct: null,
          rank: null,
          stale: false,
        },
        {
          source: 'manual',
          observed_at: '2024-03-02T11:00:00.000Z',
          age_seconds: 3600,
          price_usd: 60_000,
          market_cap_usd: 1.2e12,
          volume_24h_usd: null,
          change_24h_pct: null,
          rank: 1,
          stale: false,
        },
      ])
      expect(asset.consensus_price_usd).toBe(61_000)
      // (62,500 − 60,000) / 61,000 × 100, the stale 50,000 left out.
      expect(asset.spread_pct).toBe(4.0984)
      expect(asset.stale_sources).toEqual(['coingecko'])
    })

    it('counts a source as fresh when it trails by exactly ASSET_STALE_AFTER_MS', async () => {
      await seedFourSources()
      const { app } = await buildTestApp(
        api.test,
        { ASSET_STALE_AFTER_MS: String(3 * 3_600_000) },
        { now: () => new Date(NOW) },
      )
      try {
        const response = await app.inject({ method: 'GET', url: '/api/v1/assets/bitcoin' })
        expect(response.statusCode, response.body).toBe(200)
        const asset = response.json<{ data: AssetDetail }>().data
        expect(asset.stale_sources).toEqual([])
        expect(asset.latest.every((l) => !l.stale)).toBe(true)
        expect(asset.consensus_price_usd).toBe(60_500)
        expect(asset.spread_pct).toBe(20.6612)
      } finally {
        await app.close()
      }
    })

    it('answers two sources observed together: their mean as the median, and their spread', async () => {
      await post({ symbol: 'ETH', name: 'Ethereum', observed_at: '2024-03-02T11:30:00Z', price_usd: 3000 })
      await post({
        symbol: 'ETH',
        name: 'Ethereum',
        source: 'coinpaprika',
        observed_at: '2024-03-02T11:30:00Z',
        price_usd: 3030,
      })
      const asset = await detail('ethereum')
      expect(asset.latest.map((l) => [l.source, l.price_usd, l.age_seconds, l.stale])).toEqual([
        ['coinpaprika', 3030, 1800, false],
        ['manual', 3000, 1800, false],
      ])
      expect(asset.consensus_price_usd).toBe(3015)
      expect(asset.spread_pct).toBe(0.995)
      expect(asset.stale_sources).toEqual([])
    })

    it('has no spread with one source', async () => {
      await post({ symbol: 'ETH', name: 'Ethereum', price_usd: 3000 })
      const asset = await detail('ethereum')
      expect(asset).toMatchObject({ consensus_price_usd: 3000, spread_pct: null, stale_sources: [] })
      expect(asset.latest).toHaveLength(1)
    })

    it('answers a 404 problem for an id that names no asset', async () => {
      const problem = expectProblem(await get('/api/v1/assets/no-such-asset'), 404)
      expect(problem.code).toBe('ASSET_NOT_FOUND')
      expect(problem.detail).toBe('asset no-such-asset does not exist')
    })

    it('answers a 404 problem that names where remaps moved the aliases of an asset, latest first', async () => {
      await post({ price_usd: 60_000 })
      await post({ symbol: 'XBT', name: 'Bitcoin Legacy', price_usd: 60_000 })
      const move = { remapId: 'r', trigger: 'test', source: 'manual', method: 'symbol_name' as const }
      await insertRemaps(api.test.db.kysely, [
        {
          ...move,
          sourceAssetId: 'BTC:old',
          fromAssetId: 'old-bitcoin',
          toAssetId: 'bitcoin',
          confidence: 0.9,
          recordsMoved: 1,
          createdAt: NOW,
        },
        {
          ...move,
          sourceAssetId: 'XBT:old',
          fromAssetId: 'old-bitcoin',
          toAssetId: 'bitcoin-legacy',
          confidence: 0.9,
          recordsMoved: 0,
          createdAt: NOW,
        },
      ])

      const problem = expectProblem(await get('/api/v1/assets/old-bitcoin'), 404)
      expect(problem).toMatchObject({
        code: 'ASSET_NOT_FOUND',
        detail:
          'asset old-bitcoin no longer exists: identity remaps moved its aliases to bitcoin-legacy, bitcoin',
      })
    })

    it('answers a 404 problem for an asset a remap emptied, naming where its aliases went', async () => {
      await post({ name: 'Bitcoin Token', price_usd: 60_000 })
      expect((await detail('bitcoin-token')).aliases).toHaveLength(1)

      // CoinGecko's id is a stronger anchor: the same symbol and normalized name join it, and take its name.
      await post({ source: 'coingecko', name: 'Bitcoin', price_usd: 60_010 })

      const problem = expectProblem(await get('/api/v1/assets/bitcoin-token'), 404)
      expect(problem.code).toBe('ASSET_NOT_FOUND')
      expect(problem.detail).toContain('moved its aliases to bitcoin')
      const moved = await detail('bitcoin')
      expect(moved.aliases.map((a) => [a.source, a.source_asset_id])).toEqual([
        ['coingecko', 'BTC:bitcoin'],
        ['manual', 'BTC:bitcoin token'],
      ])
      expect(moved.latest.map((l) => l.source)).toEqual(['coingecko', 'manual'])
    })

    it('answers GET /api/v1/assets/conflicts from the conflicts route, not as an asset id', async () => {
      const response = await get('/api/v1/assets/conflicts')
      expect(response.statusCode).toBe(200)
      expect(response.json<Page<Conflict>>().data).toEqual([])
    })
  })

  describe('GET /api/v1/assets?order=spread_desc', () => {
    interface Divergent extends AssetItem {
      consensus_price_usd: number | null
      spread_pct: number | null
      stale_sources: string[]
      latest: { source: string; observed_at: string; price_usd: number | null; stale: boolean }[]
    }

    beforeEach(async () => {
      const at = '2024-03-02T11:00:00Z'
      // Bitcoin: three fresh sources 60,000 / 61,000 / 62,500, CoinGecko three hours behind (stale).
      await post({ observed_at: at, price_usd: 60_000 })
      await post({ source: 'coinpaprika', observed_at: at, price_usd: 62_500 })
      await post({ source: 'coingecko', observed_at: '2024-03-02T08:00:00Z', price_usd: 50_000 })
      await post({ source: 'coingecko', observed_at: '2024-03-01T08:00:00Z', price_usd: 1 })
      // Ethereum: two sources 1% apart. Dogecoin: one source, no spread.
      await post({ symbol: 'ETH', name: 'Ethereum', observed_at: at, price_usd: 3_000 })
      await post({
        symbol: 'ETH',
        name: 'Ethereum',
        source: 'coinpaprika',
        observed_at: at,
        price_usd: 3_030,
      })
      await post({ symbol: 'DOGE', name: 'Dogecoin', observed_at: at, price_usd: 0.1 })
      // Cardano's sources disagreed wildly, but weeks ago: not "right now".
      await post({ symbol: 'ADA', name: 'Cardano', observed_at: '2024-02-01T00:00:00Z', price_usd: 1 })
      await post({
        symbol: 'ADA',
        name: 'Cardano',
        source: 'coinpaprika',
        observed_at: '2024-02-01T00:00:00Z',
        price_usd: 2,
      })
    })

    it('ranks the assets of two or more fresh prices by spread, with the prices and stale sources behind it', async () => {
      const page = await list<Divergent>('/api/v1/assets?order=spread_desc')
      expect(page.data.map((a) => [a.id, a.spread_pct])).toEqual([
        // (62,500 − 60,000) / 61,250 and (3,030 − 3,000) / 3,015, as percentages.
        ['bitcoin', 4.0816],
        ['ethereum', 0.995],
      ])
      expect(page.page).toEqual({ limit: 100, next_cursor: null })
      const [bitcoin] = page.data
      expect(bitcoin).toMatchObject({
        symbol: 'BTC',
        consensus_price_usd: 61_250,
        stale_sources: ['coingecko'],
      })
      expect(bitcoin!.aliases.map((a) => a.source)).toEqual(['coingecko', 'coinpaprika', 'manual'])
      // The latest price of each source only, the stale one marked.
      expect(bitcoin!.latest).toEqual([
        { source: 'coingecko', observed_at: '2024-03-02T08:00:00.000Z', price_usd: 50_000, stale: true },
        { source: 'coinpaprika', observed_at: '2024-03-02T11:00:00.000Z', price_usd: 62_500, stale: false },
        { source: 'manual', observed_at: '2024-03-02T11:00:00.000Z', price_usd: 60_000, stale: false },
      ])
      // The same figures as the asset's own page.
      const own = await detail('bitcoin')
      expect([own.consensus_price_usd, own.spread_pct]).toEqual([
        bitcoin!.consensus_price_usd,
        bitcoin!.spread_pct,
      ])
    })

    it('keeps q, symbol and limit, and refuses a cursor naming the field', async () => {
      expect(ids(await list<AssetItem>('/api/v1/assets?order=spread_desc&limit=1'))).toEqual(['bitcoin'])
      expect(ids(await list<AssetItem>('/api/v1/assets?order=spread_desc&q=ether'))).toEqual(['ethereum'])
      expect(ids(await list<AssetItem>('/api/v1/assets?order=spread_desc&symbol=doge'))).toEqual([])
      const refused = await get(`/api/v1/assets?order=spread_desc&cursor=${encodeCursor(['bitcoin'], 'asc')}`)
      expectProblem(refused, 400, 'cursor')
      expectProblem(await get('/api/v1/assets?order=price'), 400, 'order')
    })
  })

  describe('GET /api/v1/assets/conflicts', () => {
    /** Two assets carry ONE and two carry AXL; rows with only a symbol are kept apart, three times. */
    const seedAmbiguousSymbols = async () => {
      await post({ symbol: 'ONE', name: 'Harmony', price_usd: 0.02 })
      await post({ symbol: 'ONE', name: '1 (one)', price_usd: 0.5 })
      await post({ symbol: 'AXL', name: 'Axelar', price_usd: 0.8 })
      await post({ symbol: 'AXL', name: 'AXL Inu', price_usd: 0.00001 })
      const run = await importCsv(api.ctx, 'date,symbol,price_usd\n2024-03-01,ONE,7\n2024-03-01,AXL,3\n')
      expect(run).toMatchObject({ status: 'succeeded', loaded: 2 })
      // Prices far apart, so no row joins another by price agreement.
      await post({ symbol: 'ONE', name: undefined, price_usd: 30 })
    }

    it('lists each symbol-only row with the candidates it was not guessed into', async () => {
      await seedAmbiguousSymbols()
      const page = await list<Conflict>('/api/v1/assets/conflicts')

      expect(page.page).toEqual({ limit: 100, next_cursor: null })
      expect(page.data.map((c) => [c.source, c.source_asset_id, c.reason])).toEqual([
        ['csv', 'AXL', 'AMBIGUOUS_SYMBOL'],
        ['csv', 'ONE', 'AMBIGUOUS_SYMBOL'],
        ['manual', 'ONE', 'AMBIGUOUS_SYMBOL'],
      ])
      const csvOne = page.data[1]!
      expect(csvOne).toEqual({
        source: 'csv',
        source_asset_id: 'ONE',
        symbol: 'ONE',
        name: null,
        asset_id: anyString(),
        reason: 'AMBIGUOUS_SYMBOL',
        detail: matching(/only a symbol.*2 assets carry ONE/),
        candidates: [
          {
            asset_id: '1-one',
            source: 'manual',
            source_asset_id: 'ONE:1 (one)',
            symbol: 'ONE',
            name: '1 (one)',
            why: 'same symbol',
          },
          {
            asset_id: 'harmony',
            source: 'manual',
            source_asset_id: 'ONE:harmony',
            symbol: 'ONE',
            name: 'Harmony',
            why: 'same symbol',
          },
        ],
        detected_at: matching(ISO_TIME),
      })
      // Kept apart: on an asset of its own, which serves its record.
      expect(['1-one', 'harmony']).not.toContain(csvOne.asset_id)
      const own = await detail(csvOne.asset_id)
      expect(own.aliases).toEqual([{ source: 'csv', source_asset_id: 'ONE', method: 'new', confidence: 1 }])
      expect(own.latest.map((l) => l.price_usd)).toEqual([7])
      expect(ids(await list<AssetItem>('/api/v1/assets?symbol=ONE'))).toHaveLength(4)
    })

    it('filters by source and by reason', async () => {
      await seedAmbiguousSymbols()
      const of = async (query: string) =>
        (await list<Conflict>(`/api/v1/assets/conflicts?${query}`)).data.map(
          (c) => `${c.source}:${c.source_asset_id}`,
        )

      expect(await of('source=csv')).toEqual(['csv:AXL', 'csv:ONE'])
      expect(await of('source=manual')).toEqual(['manual:ONE'])
      expect(await of('source=coingecko')).toEqual([])
      expect(await of('reason=AMBIGUOUS_SYMBOL&source=manual')).toEqual(['manual:ONE'])
      expect(await of('reason=AMBIGUOUS_PRICE')).toEqual([])
    })

    it('walks keyset pages of 2, each conflict once', async () => {
      await seedAmbiguousSymbols()
      const first = await list<Conflict>('/api/v1/assets/conflicts?limit=2')
      expect(first.data).toHaveLength(2)
      expect(first.page.next_cursor).toEqual(anyString())
      const second = await list<Conflict>(
        `/api/v1/assets/conflicts?limit=2&cursor=${encodeURIComponent(first.page.next_cursor!)}`,
      )
      expect(second.page.next_cursor).toBeNull()
      expect([...first.data, ...second.data].map((c) => `${c.source}:${c.source_asset_id}`)).toEqual([
        'csv:AXL',
        'csv:ONE',
        'manual:ONE',
      ])
    })

    it.each([
      ['limit', 'limit=0'],
      ['cursor', 'cursor=%%%'],
      ['cursor', `cursor=${encodeCursor(['csv'], 'asc')}`],
      ['cursor', `cursor=${encodeCursor([3], 'desc')}`],
      ['reason', 'reason=GUESSED'],
      ['source', 'source=binance'],
    ])('answers a 400 problem naming %s for %s', async (field, query) => {
      expectProblem(await get(`/api/v1/assets/conflicts?${query}`), 400, field)
    })
  })

  it('documents the three routes with their response shapes in /openapi.json', async () => {
    const document = (await get('/openapi.json')).json<{
      paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>
    }>()
    for (const path of ['/api/v1/assets', '/api/v1/assets/{id}', '/api/v1/assets/conflicts']) {
      expect(Object.keys(document.paths[path] ?? {}), path).toEqual(['get'])
      expect(document.paths[path]!.get!.responses['200']?.content, path).toBeDefined()
    }
    expect(Object.keys(document.paths['/api/v1/assets/{id}']!.get!.responses).sort()).toEqual([
      '200',
      '400',
      '404',
    ])
  })
})
