import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { CATALOGUE } from '../../fake-upstream/catalogue.js'
import type { FaultSpec } from '../../fake-upstream/faults.js'
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../../fake-upstream/server.js'
import { waitFor } from '../helpers/wait-for.js'

type Row = Record<string, unknown> & { id: string }
type Ticker = Row & { quotes: { USD: Record<string, unknown> } }

const MARKETS = '/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=250&page=1'
const CG_FIELDS = [
  'id', 'symbol', 'name', 'image', 'current_price', 'market_cap', 'market_cap_rank', 'fully_diluted_valuation',
  'total_volume', 'high_24h', 'low_24h', 'price_change_24h', 'price_change_percentage_24h', 'market_cap_change_24h',
  'market_cap_change_percentage_24h', 'circulating_supply', 'total_supply', 'max_supply', 'ath',
  'ath_change_percentage', 'ath_date', 'atl', 'atl_change_percentage', 'atl_date', 'roi', 'last_updated',
] // prettier-ignore
const CP_FIELDS = ['id', 'name', 'symbol', 'rank', 'total_supply', 'max_supply', 'beta_value', 'first_data_at', 'last_updated', 'quotes'] // prettier-ignore

let fake: FakeUpstream | undefined
afterEach(async () => {
  await fake?.close()
  fake = undefined
})

async function start(options?: FakeUpstreamOptions): Promise<FakeUpstream> {
  fake = await startFakeUpstream(options)
  return fake
}

async function body(url: string, init?: RequestInit) {
  const response = await fetch(url, init)
  return { status: response.status, headers: response.headers, text: await response.text() }
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init)
  expect(response.status, url).toBe(200)
  return (await response.json()) as T
}

const byId = <T extends Row>(rows: T[]) => new Map(rows.map((row) => [row.id, row]))

describe('fake upstream payloads', () => {
  it('lists at least 50 coins per source, most of them on both, with catalogue ids', async () => {
    const f = await start()
    const markets = byId(await json<Row[]>(f.coingeckoUrl + MARKETS))
    const tickers = byId(await json<Ticker[]>(`${f.coinpaprikaUrl}/tickers?quotes=USD`))
    const both = CATALOGUE.filter((c) => c.coingecko && c.coinpaprika)
    expect(markets.size).toBeGreaterThanOrEqual(50)
    expect(tickers.size).toBeGreaterThanOrEqual(50)
    expect(both.length).toBeGreaterThanOrEqual(50)
    for (const coin of both) {
      expect(markets.get(coin.coingecko?.id ?? '')?.symbol).toBe(coin.coingecko?.symbol)
      expect(tickers.get(coin.coinpaprika?.id ?? '')?.symbol).toBe(coin.coinpaprika?.symbol)
    }
    expect(markets.get('leo-token')?.name).toBe('LEO Token')
    expect(tickers.get('leo-leo-token')?.name).toBe('UNUS SED LEO')
    expect(tickers.get('miota-iota')?.symbol).toBe('MIOTA')
  })

  it('serves CoinGecko market objects with every documented field, in order and in upstream number format', async () => {
    const f = await start()
    const { text } = await body(f.coingeckoUrl + MARKETS)
    const markets = byId(JSON.parse(text) as Row[])
    const bitcoin = markets.get('bitcoin')
    expect(Object.keys(bitcoin ?? {})).toEqual(CG_FIELDS)
    expect(Number.isInteger(bitcoin?.current_price)).toBe(true)
    expect(bitcoin?.roi).toBeNull()
    expect(bitcoin?.last_updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(text).toContain('"circulating_supply":19958000.0')
    expect(markets.get('ethereum')).toMatchObject({ max_supply: null, roi: { currency: 'btc' } })
    expect(text).toMatch(/"id":"pepe"[^}]*"current_price":\d\.\d+e-06/)
    expect(text).toMatch(/"id":"shiba-inu"[^}]*"current_price":\d\.\d+e-05/)
    expect(markets.get('axl-inu')).toMatchObject({ symbol: 'axl', market_cap: 0, market_cap_rank: null })
    expect(markets.get('1-one')).toMatchObject({ symbol: 'one', market_cap_rank: null })
    expect(markets.get('harmony')?.market_cap_rank).toEqual(expect.any(Number))
  })

  it('pages CoinGecko markets by market cap: a short last page, [] past the end, per_page at most 250', async () => {
    const f = await start()
    const page = (n: number) =>
      json<Row[]>(`${f.coingeckoUrl}/coins/markets?vs_currency=usd&per_page=25&page=${n}`)
    const pages = [await page(1), await page(2), await page(3), await page(4)]
    expect(pages.map((p) => p.length)).toEqual([25, 25, 13, 0])
    const caps = pages.flat().map((row) => row.market_cap as number)
    expect(caps).toEqual([...caps].sort((a, b) => b - a))
    expect(await json<Row[]>(`${f.coingeckoUrl}/coins/markets?vs_currency=usd`)).toHaveLength(63)

    const tooMany = await body(`${f.coingeckoUrl}/coins/markets?vs_currency=usd&per_page=251`)
    expect(tooMany.status).toBe(400)
    expect(JSON.parse(tooMany.text)).toEqual({ error: expect.stringContaining('per_page') as unknown })
    const noCurrency = await body(`${f.coingeckoUrl}/coins/markets?per_page=10`)
    expect([noCurrency.status, noCurrency.text]).toEqual([400, '{"error":"invalid vs_currency"}'])
  })

  it('answers ping and the coin list with platforms that match CoinPaprika contracts', async () => {
    const f = await start()
    expect(await json(`${f.coingeckoUrl}/ping`)).toEqual({ gecko_says: '(V3) To the Moon!' })
    const list = byId(await json<Row[]>(`${f.coingeckoUrl}/coins/list?include_platform=true`))
    expect(list.get('bitcoin')).toEqual({ id: 'bitcoin', symbol: 'btc', name: 'Bitcoin', platforms: {} })
    const coin = await json<{ contracts: { platform: string; contract: string }[] }>(
      `${f.coinpaprikaUrl}/coins/usdt-tether`,
    )
    const erc20 = coin.contracts.find((c) => c.platform === 'eth-ethereum')?.contract ?? ''
    expect(erc20).not.toBe(erc20.toLowerCase())
    expect(list.get('tether')?.platforms).toMatchObject({ ethereum: erc20.toLowerCase() })
    expect(await json<Row[]>(`${f.coingeckoUrl}/coins/list`)).toContainEqual({
      id: 'ripple',
      symbol: 'xrp',
      name: 'XRP',
    })
  })

  it('serves CoinPaprika free-plan tickers without circulating_supply and with max_supply 0 for uncapped coins', async () => {
    const f = await start()
    const { text } = await body(`${f.coinpaprikaUrl}/tickers`)
    const tickers = byId(JSON.parse(text) as Ticker[])
    const eth = tickers.get('eth-ethereum')
    expect(Object.keys(eth ?? {})).toEqual(CP_FIELDS)
    expect(text).not.toContain('circulating_supply')
    expect(eth?.max_supply).toBe(0)
    expect(eth?.last_updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(Object.keys(eth?.quotes.USD ?? {})).toContain('percent_change_15m')
    expect(tickers.get('usdc-usd-coin')?.beta_value).toBeLessThan(0)
    expect(tickers.get('qnt-quant')?.quotes.USD.market_cap).toBe(0)
    expect(tickers.get('bcc-bitconnect')?.rank).toBe(0)
    const ranks = [...tickers.values()].map((t) => t.rank as number).filter((rank) => rank > 0)
    expect(ranks).toEqual(ranks.map((_, i) => i + 1))
    expect(text).toMatch(/"id":"babydoge-baby-doge-coin".*?"price":\d\.\d+e-9/)
  })

  it('adds circulating_supply on the paid plan and serves single tickers, coins and global', async () => {
    const f = await start({ coinpaprikaPlan: 'paid' })
    const ticker = await json<Ticker>(`${f.coinpaprikaUrl}/tickers/btc-bitcoin`)
    expect(Object.keys(ticker)).toEqual([
      ...CP_FIELDS.slice(0, 4),
      'circulating_supply',
      ...CP_FIELDS.slice(4),
    ])
    const coin = await json<Row>(`${f.coinpaprikaUrl}/coins/bcc-bitconnect`)
    expect(coin).toMatchObject({ is_active: false, rank: 0, contracts: [] })
    const global = await json<Row>(`${f.coinpaprikaUrl}/global`)
    expect(global.last_updated).toBe(Math.floor(f.now.getTime() / 1000))
    for (const path of ['/coins/nope-nope', '/tickers/nope-nope']) {
      expect(await body(f.coinpaprikaUrl + path)).toMatchObject({
        status: 404,
        text: '{"error":"id not found"}',
      })
    }
    expect((await body(`${f.coinpaprikaUrl}/nowhere`)).status).toBe(404)
    const cg404 = await body(`${f.coingeckoUrl}/nowhere`)
    expect([cg404.status, JSON.parse(cg404.text)]).toEqual([404, { error: expect.any(String) as unknown }])
  })

  it('extends the catalogue with unique synthetic coins, truncating /tickers to 2000 on the free plan', async () => {
    const free = await start({ coingeckoMarkets: 500, coinpaprikaTickers: 2500 })
    const page = (n: number) =>
      json<Row[]>(`${free.coingeckoUrl}/coins/markets?vs_currency=usd&per_page=250&page=${n}`)
    const markets = [...(await page(1)), ...(await page(2)), ...(await page(3))]
    expect(new Set(markets.map((m) => m.id)).size).toBe(500)
    expect(markets.map((m) => m.id)).toContain('synth-coin-1')
    const tickers = await json<Ticker[]>(`${free.coinpaprikaUrl}/tickers`)
    expect(new Set(tickers.map((t) => t.id)).size).toBe(2000)
    expect(tickers.map((t) => t.id)).toContain('syn1-synth-coin-1')
    await free.close()
    const paid = await start({ coinpaprikaTickers: 2500, coinpaprikaPlan: 'paid' })
    expect(await json<Ticker[]>(`${paid.coinpaprikaUrl}/tickers`)).toHaveLength(2500)
  })
})

describe('fake upstream snapshot clock', () => {
  it('answers byte-identical payloads for the same snapshot', async () => {
    const now = new Date('2026-03-01T08:00:00Z')
    const a = await startFakeUpstream({ now })
    try {
      const b = await start({ now })
      for (const path of [MARKETS, '/coins/list?include_platform=true']) {
        expect((await body(a.coingeckoUrl + path)).text).toBe((await body(b.coingeckoUrl + path)).text)
      }
      expect((await body(`${a.coinpaprikaUrl}/tickers`)).text).toBe(
        (await body(`${b.coinpaprikaUrl}/tickers`)).text,
      )
    } finally {
      await a.close()
    }
  })

  it('updates most coins when the clock advances and leaves a few laggards untouched', async () => {
    const now = new Date('2026-03-01T08:00:00Z')
    const f = await start({ now })
    const before = await json<Row[]>(f.coingeckoUrl + MARKETS)
    for (const row of before) {
      const age = now.getTime() - Date.parse(row.last_updated as string)
      expect(age).toBeGreaterThanOrEqual(0)
      expect(age).toBeLessThan(4 * 60_000)
    }
    f.advance(60_000)
    expect(f.now).toEqual(new Date('2026-03-01T08:01:00Z'))
    const after = byId(await json<Row[]>(f.coingeckoUrl + MARKETS))
    const unchanged = before.filter(
      (row) =>
        JSON.stringify({ ...after.get(row.id), market_cap_rank: 0 }) ===
        JSON.stringify({ ...row, market_cap_rank: 0 }),
    )
    expect(unchanged.length).toBeGreaterThanOrEqual(1)
    expect(unchanged.length).toBeLessThan(before.length * 0.25)
    const moved = before.filter((row) => after.get(row.id)?.last_updated !== row.last_updated)
    expect(moved.length + unchanged.length).toBe(before.length)
    expect(moved.every((row) => after.get(row.id)?.current_price !== undefined)).toBe(true)
  })
})

const REPLIES: [string, FaultSpec, number, string | RegExp][] = [
  ['CoinGecko server_error', { source: 'coingecko', kind: 'server_error' }, 500, /^\{"error":"[^"]+"\}$/],
  ['CoinPaprika server_error', { source: 'coinpaprika', kind: 'server_error' }, 500, /^\{"error":"[^"]+"\}$/],
  ['unavailable', { source: 'coingecko', kind: 'unavailable' }, 503, /^\{"error":/],
  ['unavailable html', { source: 'coinpaprika', kind: 'unavailable', body: 'html' }, 503, /<html/],
  ['unavailable empty', { source: 'coinpaprika', kind: 'unavailable', body: 'empty' }, 503, ''],
  ['garbage', { source: 'coingecko', kind: 'garbage' }, 200, /not JSON|corrupted/],
  ['html', { source: 'coingecko', kind: 'html' }, 503, /<!DOCTYPE html>/],
  ['html 502', { source: 'coinpaprika', kind: 'html', status: 502 }, 502, /Bad Gateway/],
  ['empty', { source: 'coingecko', kind: 'empty', status: 500 }, 500, ''],
  ['CoinGecko unauthorized', { source: 'coingecko', kind: 'unauthorized' }, 401, /"error_code":10002/],
  ['CoinPaprika unauthorized', { source: 'coinpaprika', kind: 'unauthorized' }, 403, '{"error":"invalid api key"}'],
  ['CoinGecko payment_required', { source: 'coingecko', kind: 'payment_required' }, 402, /"error_code":10005/],
  ['CoinPaprika payment_required', { source: 'coinpaprika', kind: 'payment_required' }, 402, /^\{"error":/],
  ['forbidden', { source: 'coinpaprika', kind: 'forbidden' }, 403, /^\{"error":/],
  ['CoinGecko rate_limit', { source: 'coingecko', kind: 'rate_limit' }, 429, /"error_code":429,"error_message":"You've exceeded the Rate Limit/],
  ['CoinPaprika rate_limit', { source: 'coinpaprika', kind: 'rate_limit' }, 429, '{"error":"you have reached maximum request limit"}'],
  ['rate_limit html', { source: 'coingecko', kind: 'rate_limit', body: 'html' }, 429, /rate limited/],
] // prettier-ignore

describe('fake upstream faults', () => {
  const urlOf = (f: FakeUpstream, spec: FaultSpec) =>
    spec.source === 'coingecko' ? f.coingeckoUrl + MARKETS : `${f.coinpaprikaUrl}/tickers`

  it.each(REPLIES)('answers %s as specified, once', async (_name, spec, status, expected) => {
    const f = await start()
    f.fault(spec)
    const faulted = await body(urlOf(f, spec))
    expect(faulted.status).toBe(status)
    if (typeof expected === 'string') expect(faulted.text).toBe(expected)
    else expect(faulted.text).toMatch(expected)
    expect((await fetch(urlOf(f, spec))).status).toBe(200)
    expect(f.requests.map((r) => r.status)).toEqual([status, 200])
  })

  it('sends Retry-After as seconds, verbatim as a date, or not at all', async () => {
    const f = await start()
    const date = 'Wed, 25 Nov 2026 12:01:00 GMT'
    f.fault({ source: 'coingecko', kind: 'rate_limit', retryAfter: 7 })
    f.fault({ source: 'coingecko', kind: 'rate_limit', retryAfter: date })
    f.fault({ source: 'coingecko', kind: 'rate_limit' })
    const retryAfters = []
    for (let i = 0; i < 3; i++)
      retryAfters.push((await fetch(`${f.coingeckoUrl}/ping`)).headers.get('retry-after'))
    expect(retryAfters).toEqual(['7', date, null])
  })

  it('answers the next `times` matching requests only, by source, path and page', async () => {
    const f = await start()
    f.fault({ source: 'coingecko', path: '/coins/markets', page: 2, times: 2, kind: 'server_error' })
    const page = (n: number) => fetch(`${f.coingeckoUrl}/coins/markets?vs_currency=usd&page=${n}&per_page=10`)
    const statuses = []
    for (const n of [1, 2, 2, 2]) statuses.push((await page(n)).status)
    statuses.push((await fetch(`${f.coinpaprikaUrl}/tickers`)).status)
    expect(statuses).toEqual([200, 500, 500, 200, 200])
  })

  it('delays a slow answer, and close() does not wait for it', async () => {
    const f = await start()
    f.fault({ source: 'coinpaprika', kind: 'slow', delayMs: 150 })
    const started = Date.now()
    expect((await fetch(`${f.coinpaprikaUrl}/global`)).status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)

    f.fault({ source: 'coinpaprika', kind: 'slow', delayMs: 30_000 })
    const pending = fetch(`${f.coinpaprikaUrl}/global`)
    await waitFor(() => f.count('coinpaprika') === 2, { what: 'the slow request to arrive' })
    const closing = Date.now()
    await f.close()
    fake = undefined
    await expect(pending).rejects.toThrow()
    expect(Date.now() - closing).toBeLessThan(1000)
  })

  it('truncates a payload, resets a connection and drifts a schema', async () => {
    const f = await start()
    const whole = (await body(`${f.coinpaprikaUrl}/tickers`)).text
    f.fault({ source: 'coinpaprika', kind: 'truncated' })
    const truncated = await body(`${f.coinpaprikaUrl}/tickers`)
    expect(truncated.status).toBe(200)
    expect(truncated.text.length).toBe(Math.floor(whole.length / 2))
    expect(() => JSON.parse(truncated.text) as unknown).toThrow()

    f.fault({ source: 'coingecko', kind: 'reset' })
    await expect(fetch(`${f.coingeckoUrl}/ping`)).rejects.toThrow()
    expect(f.requests.at(-1)).toMatchObject({ path: '/ping', status: 0 })

    f.fault({
      source: 'coinpaprika',
      times: Infinity,
      kind: 'drift',
      drift: {
        rename: ['quotes.USD.price', 'price_usd'],
        retype: ['rank', 'string'],
        add: ['new_field', { a: 1 }],
      },
    })
    for (let i = 0; i < 2; i++) {
      const tickers = await json<Ticker[]>(`${f.coinpaprikaUrl}/tickers`)
      expect(tickers.every((t) => typeof t.rank === 'string' && 'new_field' in t)).toBe(true)
      expect(Object.keys(tickers[0]?.quotes.USD ?? {}).slice(0, 2)).toEqual(['price_usd', 'volume_24h'])
    }
    f.fault({
      source: 'coingecko',
      kind: 'drift',
      drift: { remove: 'market_cap', retype: ['last_updated', 'number'] },
    })
    const drifted = await json<Row[]>(f.coingeckoUrl + MARKETS)
    expect(drifted.every((row) => !('market_cap' in row) && typeof row.last_updated === 'number')).toBe(true)
    f.clearFaults()
    expect((await json<Ticker[]>(`${f.coinpaprikaUrl}/tickers`))[0]?.quotes.USD.price).toEqual(
      expect.any(Number),
    )
  })
})

describe('fake upstream keys', () => {
  it('checks a CoinGecko demo key like api.coingecko.com does', async () => {
    const f = await start({ keys: { coingecko: { key: 'CG-demo', plan: 'demo' } } })
    const ping = (headers: Record<string, string>, query = '') =>
      body(`${f.coingeckoUrl}/ping${query}`, { headers })
    expect((await ping({ 'x-cg-demo-api-key': 'CG-demo' })).status).toBe(200)
    expect((await ping({}, '?x_cg_demo_api_key=CG-demo')).status).toBe(200)
    const missing = await ping({})
    expect(missing.status).toBe(401)
    expect(JSON.parse(missing.text)).toMatchObject({
      status: { error_code: 10002, timestamp: expect.stringMatching(/\+00:00$/) as unknown },
    })
    const wrongHeader = await ping({ 'x-cg-pro-api-key': 'CG-demo' })
    expect(wrongHeader.status).toBe(400)
    expect(JSON.parse(wrongHeader.text)).toMatchObject({ status: { error_code: 10010 } })
    expect((await ping({ 'x-cg-demo-api-key': 'CG-other' })).status).toBe(401)
  })

  it('checks a CoinGecko pro key and a CoinPaprika key, raw or Bearer', async () => {
    const f = await start({ keys: { coingecko: { key: 'CG-pro', plan: 'pro' }, coinpaprika: 'cp-key' } })
    expect(
      (await fetch(`${f.coingeckoUrl}/ping`, { headers: { 'x-cg-pro-api-key': 'CG-pro' } })).status,
    ).toBe(200)
    const wrongHeader = await body(`${f.coingeckoUrl}/ping`, { headers: { 'x-cg-demo-api-key': 'CG-pro' } })
    expect([wrongHeader.status, JSON.parse(wrongHeader.text)]).toMatchObject([
      400,
      { status: { error_code: 10011 } },
    ])
    const tickers = (authorization?: string) =>
      body(`${f.coinpaprikaUrl}/global`, { headers: authorization ? { authorization } : {} })
    expect((await tickers('cp-key')).status).toBe(200)
    expect((await tickers('Bearer cp-key')).status).toBe(200)
    expect(await tickers('Bearer nope')).toMatchObject({ status: 403, text: '{"error":"invalid api key"}' })
    expect((await tickers()).status).toBe(403)
  })
})

describe('fake upstream limits and request log', () => {
  it('refuses requests beyond a sliding-window limit with each source’s 429', async () => {
    const f = await start({
      limits: { coingecko: { points: 3, windowMs: 300 }, coinpaprika: { points: 1, windowMs: 300 } },
    })
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${f.coingeckoUrl}/ping`)).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    const refused = await body(`${f.coingeckoUrl}/ping`)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(JSON.parse(refused.text)).toMatchObject({ status: { error_code: 429 } })
    expect((await fetch(`${f.coinpaprikaUrl}/global`)).status).toBe(200)
    const paprika = await body(`${f.coinpaprikaUrl}/global`)
    expect([paprika.status, paprika.text, paprika.headers.get('retry-after')]).toEqual([
      429,
      '{"error":"you have reached maximum request limit"}',
      null,
    ])
    await sleep(320)
    expect((await fetch(`${f.coingeckoUrl}/ping`)).status).toBe(200)
  })

  it('computes the busiest half-open window over every request, refused or not', async () => {
    const f = await start({ limits: { coingecko: { points: 4, windowMs: 60_000 } } })
    for (let i = 0; i < 3; i++) await fetch(`${f.coingeckoUrl}/ping`)
    await sleep(150)
    for (let i = 0; i < 2; i++) await fetch(`${f.coingeckoUrl}/ping`)
    expect(f.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 429])
    expect(f.maxInWindow('coingecko', 100)).toBe(3)
    expect(f.maxInWindow('coingecko', 60_000)).toBe(5)
    expect(f.maxInWindow('coingecko', 0)).toBe(0)
    expect(f.maxInWindow('coinpaprika', 60_000)).toBe(0)
    // Naively: the busiest window can always start at a request, and holds those in [at, at + w).
    const times = f.requests.map((r) => r.at)
    const naive = (w: number) =>
      Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + w).length))
    const span = (times.at(-1) ?? 0) - (times[0] ?? 0)
    for (const w of [1, 2, 5, 20, 100, 149, span, span + 1])
      expect(f.maxInWindow('coingecko', w), `w=${w}`).toBe(naive(w))
  })

  it('counts a slow request against the limit when it arrives, not when its answer leaves', async () => {
    const f = await start({ limits: { coingecko: { points: 2, windowMs: 400 } } })
    f.fault({ source: 'coingecko', kind: 'slow', delayMs: 500 })
    expect((await fetch(`${f.coingeckoUrl}/ping`)).status).toBe(200)
    // 500 ms after the slow one arrived, its window is over: two more fit, as upstream would count.
    const next = [
      (await fetch(`${f.coingeckoUrl}/ping`)).status,
      (await fetch(`${f.coingeckoUrl}/ping`)).status,
    ]
    expect(next).toEqual([200, 200])
  })

  it('records every request with source, path, query, headers, time and status', async () => {
    const f = await start()
    const before = Date.now()
    await fetch(`${f.coingeckoUrl}/coins/markets?vs_currency=usd&page=2`, { headers: { 'x-trace': 'abc' } })
    await fetch(`${f.coinpaprikaUrl}/tickers/nope`)
    await fetch(`${f.url}/elsewhere`)
    expect(f.requests).toEqual([
      {
        source: 'coingecko',
        method: 'GET',
        path: '/coins/markets',
        query: { vs_currency: 'usd', page: '2' },
        headers: expect.objectContaining({ 'x-trace': 'abc' }) as unknown,
        at: expect.any(Number) as unknown,
        status: 200,
      },
      expect.objectContaining({ source: 'coinpaprika', path: '/tickers/nope', status: 404 }),
    ])
    expect(f.requests[0]?.at).toBeGreaterThanOrEqual(before)
    expect([
      f.count(),
      f.count('coingecko'),
      f.count('coinpaprika', '/tickers'),
      f.count(undefined, '/tickers/nope'),
    ]).toEqual([2, 1, 0, 1])
    expect(f.coingeckoUrl).toBe(`${f.url}/coingecko/api/v3`)
    expect(f.coinpaprikaUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/coinpaprika\/v1$/)
  })
})

describe('fake upstream history', () => {
  const NOW = Date.parse('2026-11-25T12:00:00Z')
  const DAY = 86_400_000
  const seconds = (ms: number) => String(Math.floor(ms / 1000))
  type Chart = {
    prices: [number, number][]
    market_caps: [number, number][]
    total_volumes: [number, number][]
  }
  type Point = { timestamp: string; price: number; volume_24h: number; market_cap: number }
  const range = (f: FakeUpstream, id: string, from: number, to: number) =>
    `${f.coingeckoUrl}/coins/${id}/market_chart/range?vs_currency=usd&from=${seconds(from)}&to=${seconds(to)}`

  it('charts a CoinGecko range 5-minutely within the last day, hourly to 90 days, daily beyond', async () => {
    const f = await start({ now: new Date(NOW) })
    const steps = async (from: number, to: number) => {
      const { prices, market_caps, total_volumes } = await json<Chart>(range(f, 'bitcoin', from, to))
      expect([market_caps.length, total_volumes.length]).toEqual([prices.length, prices.length])
      return { count: prices.length, step: prices[1]![0] - prices[0]![0], first: prices[0]![0] }
    }
    expect(await steps(NOW - DAY, NOW)).toEqual({ count: 289, step: 300_000, first: NOW - DAY })
    expect(await steps(NOW - 30 * DAY, NOW - 29 * DAY)).toMatchObject({ count: 25, step: 3_600_000 })
    expect(await steps(NOW - 90 * DAY, NOW)).toMatchObject({ count: 90 * 24 + 1, step: 3_600_000 })
    const daily = await steps(NOW - 200 * DAY, NOW)
    expect(daily).toMatchObject({ count: 200, step: DAY })
    expect(new Date(daily.first).toISOString()).toMatch(/T00:00:00\.000Z$/)
    // Nothing after the fake's clock, nothing before the coin existed.
    expect((await steps(NOW - 3_600_000, NOW + 3_600_000)).count).toBe(13)
  })

  it('agrees with its snapshots: the same model prices both', async () => {
    const f = await start({ now: new Date(NOW) })
    const [market] = await json<Row[]>(`${f.coingeckoUrl}/coins/markets?vs_currency=usd&ids=bitcoin`)
    const updated = Date.parse(market!.last_updated as string)
    // A 5-minute point close to the snapshot's own time is within a few tenths of a percent of it.
    const { prices } = await json<Chart>(range(f, 'bitcoin', updated - 300_000, updated))
    const [at, price] = prices.at(-1)!
    expect(updated - at).toBeLessThan(300_000)
    expect(Math.abs(price / (market!.current_price as number) - 1)).toBeLessThan(0.01)
  })

  it('answers 10012 in an extra error wrapper beyond the Demo plan year, and all of it on Pro', async () => {
    const demo = await start({ now: new Date(NOW) })
    const old = await body(range(demo, 'bitcoin', NOW - 400 * DAY, NOW - 399 * DAY))
    expect(old.status).toBe(401)
    expect(JSON.parse(old.text)).toMatchObject({ error: { status: { error_code: 10012 } } })
    expect((await body(range(demo, 'no-such-coin', NOW - DAY, NOW))).status).toBe(404)
    await demo.close()
    const pro = await start({ now: new Date(NOW), keys: { coingecko: { key: 'k'.repeat(20), plan: 'pro' } } })
    const response = await fetch(range(pro, 'bitcoin', NOW - 400 * DAY, NOW - 399 * DAY), {
      headers: { 'x-cg-pro-api-key': 'k'.repeat(20) },
    })
    expect(response.status).toBe(200)
  })

  it('serves CoinPaprika ticker history by interval and limit, within the free plan’s reach', async () => {
    const f = await start({ now: new Date(NOW) })
    const history = (query: string) => `${f.coinpaprikaUrl}/tickers/btc-bitcoin/historical?${query}`
    const daily = await json<Point[]>(history(`start=${seconds(NOW - 364 * DAY)}&interval=1d`))
    expect(daily).toHaveLength(364)
    expect(daily[0]).toEqual({
      timestamp: expect.stringMatching(/T00:00:00Z$/) as unknown,
      price: expect.any(Number) as unknown,
      volume_24h: expect.any(Number) as unknown,
      market_cap: expect.any(Number) as unknown,
    })
    const hourly = await json<Point[]>(history(`start=2026-11-24T12:00:00Z&interval=1h&limit=5`))
    expect(hourly.map((p) => p.timestamp)).toEqual([
      '2026-11-24T12:00:00Z',
      '2026-11-24T13:00:00Z',
      '2026-11-24T14:00:00Z',
      '2026-11-24T15:00:00Z',
      '2026-11-24T16:00:00Z',
    ])
    for (const query of [`start=${seconds(NOW - 400 * DAY)}&interval=1d`, 'start=2026-11-20&interval=1h']) {
      const refused = await body(history(query))
      expect(refused.status, query).toBe(401)
      expect(JSON.parse(refused.text)).toMatchObject({ error: { status: { error_code: 10012 } } })
    }
    expect((await body(history('interval=1d'))).status).toBe(400)
    expect((await body(history('start=2026-11-24&interval=7m'))).status).toBe(400)
  })
})
