import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SchemaDriftError } from '../../errors.js'
import { normalizeCoinGeckoMarkets } from './coingecko-normalize.js'

const page = (): Record<string, unknown>[] =>
  JSON.parse(readFileSync('test/fixtures/coingecko/markets-page.json', 'utf8')) as Record<string, unknown>[]

describe('normalizeCoinGeckoMarkets', () => {
  it('maps a documented page to observations keyed by the upstream last_updated', () => {
    const { observations, rejections, schemaChanges } = normalizeCoinGeckoMarkets(page())
    expect(schemaChanges).toEqual([])
    expect(observations.map((o) => o.asset.sourceAssetId)).toEqual([
      'bitcoin',
      'ethereum',
      'shiba-inu',
      'axl-inu',
    ])
    expect(observations[0]).toMatchObject({
      asset: { sourceAssetId: 'bitcoin', symbol: 'BTC', name: 'Bitcoin' },
      observedAt: '2026-05-18T12:49:21.599Z',
      priceUsd: 77671,
      marketCapUsd: 1541234567890,
      volume24hUsd: 38123456789,
      change24hPct: -0.65542,
      rank: 1,
      circulatingSupply: 20030493,
      totalSupply: 21000000,
      maxSupply: 21000000,
      line: 1,
    })
    expect(rejections).toEqual([expect.objectContaining({ line: 5, reasonCode: 'SOURCE_PRICE_INVALID' })])
  })

  it('reads the 24h change as a percentage, never market_cap_change_24h (an amount)', () => {
    const eth = normalizeCoinGeckoMarkets(page()).observations[1]!
    expect(eth.change24hPct).toBe(0.51234)
    expect(eth.maxSupply).toBeNull()
  })

  it('keeps exponent prices exact and turns a zero cap or supply into unknown', () => {
    const [, , shib, axlInu] = normalizeCoinGeckoMarkets(page()).observations
    expect(shib!.priceUsd).toBe(0.00001198)
    expect(axlInu).toMatchObject({
      priceUsd: 2.1e-7,
      marketCapUsd: null,
      rank: null,
      circulatingSupply: null,
    })
    expect(axlInu!.volume24hUsd).toBe(0)
  })

  it('reads last_updated in seconds, milliseconds or without a zone', () => {
    const items = page().slice(0, 3)
    items[0]!.last_updated = 1779108561
    items[1]!.last_updated = 1779108561599
    items[2]!.last_updated = '2026-05-18 12:49:21'
    expect(normalizeCoinGeckoMarkets(items).observations.map((o) => o.observedAt)).toEqual([
      '2026-05-18T12:49:21.000Z',
      '2026-05-18T12:49:21.599Z',
      '2026-05-18T12:49:21.000Z',
    ])
  })

  it('accepts and reports an unknown field', () => {
    const items = page().map((i) => ({ ...i, price_change_percentage_1h_in_currency: 0.1 }))
    const { observations, schemaChanges } = normalizeCoinGeckoMarkets(items)
    expect(observations).toHaveLength(4)
    expect(schemaChanges).toEqual([
      expect.objectContaining({ field: 'price_change_percentage_1h_in_currency', change: 'added' }),
    ])
  })

  it('fails the batch when a required field is gone from the items, naming a probable rename', () => {
    const items = page().map(({ current_price, ...rest }) => ({ ...rest, price_current: current_price }))
    const error = (() => {
      try {
        normalizeCoinGeckoMarkets(items)
      } catch (e) {
        return e
      }
    })() as SchemaDriftError
    expect(error).toBeInstanceOf(SchemaDriftError)
    expect(error.code).toBe('SOURCE_SCHEMA_DRIFT')
    expect(error.changes).toEqual([
      expect.objectContaining({
        field: 'current_price',
        change: 'renamed',
        detail: expect.objectContaining({ renamedTo: 'price_current' }) as unknown,
      }),
    ])
  })

  it('reads a renamed field under its declared name once an alias is configured', () => {
    const items = page().map(({ current_price, ...rest }) => ({ ...rest, price_current: current_price }))
    const { observations, schemaChanges } = normalizeCoinGeckoMarkets(items, {
      price_current: 'current_price',
    })
    expect(observations[0]!.priceUsd).toBe(77671)
    expect(schemaChanges).toEqual([])
  })

  it('rejects only the row when one item of many has a retyped field', () => {
    const items = page()
    items[1]!.current_price = '2411.52'
    const { observations, rejections } = normalizeCoinGeckoMarkets(items)
    expect(observations.map((o) => o.asset.sourceAssetId)).toEqual(['bitcoin', 'shiba-inu', 'axl-inu'])
    expect(rejections[0]).toMatchObject({
      line: 2,
      reasonCode: 'SOURCE_ROW_INVALID',
      message: 'item 2 (ethereum): current_price should be number | null, got string',
    })
  })

  it('fails the batch when the payload is not an array', () => {
    expect(() => normalizeCoinGeckoMarkets({ status: { error_code: 429 } })).toThrow(SchemaDriftError)
  })
})
