import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SchemaDriftError } from '../../errors.js'
import { normalizeCoinPaprikaTickers } from './coinpaprika-normalize.js'

const tickers = (): Record<string, unknown>[] =>
  JSON.parse(readFileSync('test/fixtures/coinpaprika/tickers-free.json', 'utf8')) as Record<string, unknown>[]

describe('normalizeCoinPaprikaTickers', () => {
  it('maps free-plan tickers (no circulating_supply) keyed by the upstream last_updated', () => {
    const { observations, rejections, schemaChanges } = normalizeCoinPaprikaTickers(tickers())
    expect(rejections).toEqual([])
    expect(schemaChanges).toEqual([])
    expect(observations[0]).toMatchObject({
      asset: { sourceAssetId: 'btc-bitcoin', symbol: 'BTC', name: 'Bitcoin' },
      observedAt: '2026-05-18T12:47:48.000Z',
      priceUsd: 77702.11,
      marketCapUsd: 1556412345678,
      change24hPct: -0.63,
      rank: 1,
      circulatingSupply: null,
      totalSupply: 20030493,
      maxSupply: 21000000,
    })
  })

  it('reads max_supply 0, market_cap 0 and rank 0 as unknown', () => {
    const [, eth, usdc, , old] = normalizeCoinPaprikaTickers(tickers()).observations
    expect(eth!.maxSupply).toBeNull()
    expect(usdc!.marketCapUsd).toBeNull()
    expect(old!.rank).toBeNull()
  })

  it('reads quotes.USD.percent_change_24h as the change, and exponent prices exactly', () => {
    const pepe = normalizeCoinPaprikaTickers(tickers()).observations[3]!
    expect(pepe.priceUsd).toBe(0.00000198)
    expect(pepe.change24hPct).toBe(1.21)
  })

  it('keeps circulating_supply when a paid plan sends it', () => {
    const items = tickers().map((t) => ({ ...t, circulating_supply: 19_000_000 }))
    expect(normalizeCoinPaprikaTickers(items).observations[0]!.circulatingSupply).toBe(19_000_000)
  })

  it('fails the batch when quotes.USD.price is retyped in every item', () => {
    const items = tickers().map((t) => {
      const quotes = t.quotes as { USD: Record<string, unknown> }
      return { ...t, quotes: { USD: { ...quotes.USD, price: String(quotes.USD.price) } } }
    })
    expect(() => normalizeCoinPaprikaTickers(items)).toThrow(
      expect.objectContaining({
        code: 'SOURCE_SCHEMA_DRIFT',
        changes: [expect.objectContaining({ field: 'quotes.USD.price', change: 'retyped' })],
      }),
    )
  })

  it('reports a field removed from the nested quote as drift', () => {
    const items = tickers().map((t) => {
      const { volume_24h: _gone, ...usd } = (t.quotes as { USD: Record<string, unknown> }).USD
      return { ...t, quotes: { USD: usd } }
    })
    let error: unknown
    try {
      normalizeCoinPaprikaTickers(items)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(SchemaDriftError)
    expect((error as SchemaDriftError).changes).toEqual([
      expect.objectContaining({ field: 'quotes.USD.volume_24h', change: 'removed' }),
    ])
  })
})
