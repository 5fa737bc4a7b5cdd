import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sourceAssetKey } from './identity-keys.js'
import {
  resolveIdentities,
  type AssetOverride,
  type Resolution,
  type SourceAssetEvidence,
} from './resolve-identities.js'

const OPTIONS = {
  catalogSources: ['coingecko', 'coinpaprika'],
  priceTolerancePct: 2,
  priceWindowMs: 3_600_000,
}
const AT = '2026-11-25T12:00:00.000Z'

function asset(
  source: string,
  sourceAssetId: string,
  symbol: string,
  name: string | null,
  more: Partial<SourceAssetEvidence> = {},
): SourceAssetEvidence {
  return {
    source,
    sourceAssetId,
    symbol,
    name,
    rank: 10,
    marketCapUsd: 1e9,
    priceUsd: 1,
    observedAt: AT,
    active: true,
    contracts: [],
    ...more,
  }
}

const cg = (id: string, symbol: string, name: string, more: Partial<SourceAssetEvidence> = {}) =>
  asset('coingecko', id, symbol, name, more)
const cp = (id: string, symbol: string, name: string, more: Partial<SourceAssetEvidence> = {}) =>
  asset('coinpaprika', id, symbol, name, more)
const erc20 = (address: string) => ({ contracts: [{ platform: 'ethereum', address: address.toLowerCase() }] })

/** Which source assets share an asset, as sorted groups of `source:id`. */
function partition(resolution: Resolution): string[][] {
  const groups = new Map<string, string[]>()
  for (const [key, a] of resolution.assignments) {
    const list = groups.get(a.assetId) ?? []
    list.push(key.replace('\u0000', ':'))
    groups.set(a.assetId, list)
  }
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => a.join().localeCompare(b.join()))
}

function assetOf(resolution: Resolution, source: string, id: string): string {
  return resolution.assignments.get(sourceAssetKey({ source, sourceAssetId: id }))!.assetId
}

describe('resolveIdentities: the documented cases', () => {
  it('keeps Axelar and AXL Inu apart and joins each to its true counterpart', () => {
    const r = resolveIdentities(
      [
        cg('axelar', 'AXL', 'Axelar', {
          priceUsd: 0.392,
          ...erc20('0x467719aD09025FcC6cF6F8311755809d45a5E5f3'),
        }),
        cg('axl-inu', 'AXL', 'AXL Inu', { priceUsd: 4.1e-6, rank: null, marketCapUsd: null }),
        cp('axl-axelar', 'AXL', 'Axelar', { priceUsd: 0.391 }),
        asset('csv', 'AXL:axl inu', 'AXL', 'AXL Inu'),
      ],
      [],
      OPTIONS,
    )
    expect(assetOf(r, 'coinpaprika', 'axl-axelar')).toBe(assetOf(r, 'coingecko', 'axelar'))
    expect(assetOf(r, 'csv', 'AXL:axl inu')).toBe(assetOf(r, 'coingecko', 'axl-inu'))
    expect(assetOf(r, 'coingecko', 'axelar')).not.toBe(assetOf(r, 'coingecko', 'axl-inu'))
    expect(r.assets.size).toBe(2)
  })

  it('keeps Harmony and "1 (one)" apart and joins Harmony across sources', () => {
    const r = resolveIdentities(
      [
        cg('harmony', 'ONE', 'Harmony', { priceUsd: 0.0114 }),
        cg('1-one', 'ONE', '1 (one)', { priceUsd: 0.0021, rank: null }),
        cp('one-harmony', 'ONE', 'Harmony', { priceUsd: 0.0115 }),
      ],
      [],
      OPTIONS,
    )
    expect(partition(r)).toEqual([['coingecko:1-one'], ['coingecko:harmony', 'coinpaprika:one-harmony']])
    expect(assetOf(r, 'coingecko', '1-one')).toBe('1-one')
    expect(r.assignments.get('coinpaprika\u0000one-harmony')).toEqual({
      assetId: 'harmony',
      method: 'symbol_name',
      confidence: 0.9,
    })
  })

  it('joins MIOTA and IOTA through the override table, and only through it', () => {
    const evidence = [cg('iota', 'IOTA', 'IOTA', { priceUsd: 0.1745 }), cp('miota-iota', 'MIOTA', 'IOTA')]
    expect(resolveIdentities(evidence, [], OPTIONS).assets.size).toBe(2)
    const override: AssetOverride = {
      assetId: 'iota',
      why: 'symbols differ',
      members: [
        { source: 'coingecko', sourceAssetId: 'iota' },
        { source: 'coinpaprika', sourceAssetId: 'miota-iota' },
      ],
    }
    const r = resolveIdentities(evidence, [override], OPTIONS)
    expect(partition(r)).toEqual([['coingecko:iota', 'coinpaprika:miota-iota']])
    expect(r.assignments.get('coinpaprika\u0000miota-iota')).toMatchObject({
      assetId: 'iota',
      method: 'override',
    })
  })

  it('joins "Binance Coin" and "BNB" by symbol and agreeing price', () => {
    const r = resolveIdentities(
      [
        cg('binancecoin', 'BNB', 'BNB', { priceUsd: 915.4 }),
        cp('bnb-binance-coin', 'BNB', 'Binance Coin', { priceUsd: 916.1 }),
      ],
      [],
      OPTIONS,
    )
    expect(partition(r)).toEqual([['coingecko:binancecoin', 'coinpaprika:bnb-binance-coin']])
    const alias = r.assignments.get('coinpaprika\u0000bnb-binance-coin')!
    expect(alias.method).toBe('symbol_price')
    expect(alias.confidence).toBeGreaterThan(0.6)
    expect(alias.confidence).toBeLessThan(0.9)
  })

  it('does not join on price when the prices disagree or were not observed together', () => {
    const far = resolveIdentities(
      [
        cg('binancecoin', 'BNB', 'BNB', { priceUsd: 915 }),
        cp('bnb-binance-coin', 'BNB', 'Binance Coin', { priceUsd: 980 }),
      ],
      [],
      OPTIONS,
    )
    expect(far.assets.size).toBe(2)
    const apart = resolveIdentities(
      [
        cg('binancecoin', 'BNB', 'BNB', { priceUsd: 915 }),
        cp('bnb-binance-coin', 'BNB', 'Binance Coin', { priceUsd: 915, observedAt: '2026-11-25T09:00:00Z' }),
      ],
      [],
      OPTIONS,
    )
    expect(apart.assets.size).toBe(2)
  })

  it('joins "UNUS SED LEO" and "LEO Token" by contract, whatever the address case', () => {
    const r = resolveIdentities(
      [
        cg('leo-token', 'LEO', 'LEO Token', {
          priceUsd: 9.42,
          ...erc20('0x2af5d2ad76741191d15dfe7bf6ac92d4bd912ca3'),
        }),
        cp('leo-leo-token', 'LEO', 'UNUS SED LEO', {
          priceUsd: 30,
          ...erc20('0x2AF5D2aD76741191D15Dfe7bF6aC92d4Bd912Ca3'),
        }),
      ],
      [],
      OPTIONS,
    )
    expect(r.assignments.get('coinpaprika\u0000leo-leo-token')).toEqual({
      assetId: 'leo-token',
      method: 'contract',
      confidence: 0.95,
    })
  })

  it('reports a symbol-only row with two candidates instead of guessing', () => {
    const r = resolveIdentities(
      [
        cg('harmony', 'ONE', 'Harmony', { priceUsd: 0.0114 }),
        cg('1-one', 'ONE', '1 (one)', { priceUsd: 0.0021, rank: 900 }),
        asset('csv', 'ONE', 'ONE', null),
      ],
      [],
      OPTIONS,
    )
    expect(r.assets.size).toBe(3)
    const own = assetOf(r, 'csv', 'ONE')
    expect(own).not.toBe(assetOf(r, 'coingecko', 'harmony'))
    expect(r.conflicts).toEqual([
      expect.objectContaining({
        source: 'csv',
        sourceAssetId: 'ONE',
        assetId: own,
        reason: 'AMBIGUOUS_SYMBOL',
        candidates: [
          expect.objectContaining({ assetId: '1-one', sourceAssetId: '1-one' }),
          expect.objectContaining({ assetId: 'harmony', sourceAssetId: 'harmony' }),
        ],
      }),
    ])
  })

  it('joins a symbol-only row to the one eligible asset, never to an unranked or zero-cap one', () => {
    const r = resolveIdentities(
      [
        cg('harmony', 'ONE', 'Harmony'),
        cg('1-one', 'ONE', '1 (one)', { rank: null }),
        asset('csv', 'ONE', 'ONE', null, { observedAt: '2024-01-01T00:00:00Z' }),
        cp('bcc-bitconnect', 'BCC', 'BitConnect', { active: false, rank: null }),
        asset('manual', 'BCC', 'BCC', null),
      ],
      [],
      OPTIONS,
    )
    expect(r.assignments.get('csv\u0000ONE')).toEqual({
      assetId: 'harmony',
      method: 'symbol_name',
      confidence: 0.5,
    })
    expect(assetOf(r, 'manual', 'BCC')).not.toBe(assetOf(r, 'coinpaprika', 'bcc-bitconnect'))
    expect(r.conflicts.map((c) => [c.sourceAssetId, c.reason])).toEqual([['BCC', 'INELIGIBLE_CANDIDATE']])
  })

  it('reports a name shared by two ranked assets of one catalog, and joins neither', () => {
    const r = resolveIdentities(
      [
        cg('pepe', 'PEPE', 'Pepe', { priceUsd: 1 }),
        cg('pepe-2', 'PEPE', 'Pepe', { priceUsd: 3 }),
        cp('pepe-pepe', 'PEPE', 'Pepe', { priceUsd: 2 }),
      ],
      [],
      OPTIONS,
    )
    expect(r.assets.size).toBe(3)
    expect(r.conflicts).toEqual([
      expect.objectContaining({
        sourceAssetId: 'pepe-pepe',
        reason: 'AMBIGUOUS_NAME',
        candidates: [expect.anything(), expect.anything()],
      }),
    ])
  })

  it('prefers the ranked asset when a copy with the same name is unranked', () => {
    const r = resolveIdentities(
      [
        cg('pepe', 'PEPE', 'Pepe'),
        cg('pepe-copy', 'PEPE', 'Pepe', { rank: null, marketCapUsd: null }),
        cp('pepe-pepe', 'PEPE', 'Pepe'),
      ],
      [],
      OPTIONS,
    )
    expect(assetOf(r, 'coinpaprika', 'pepe-pepe')).toBe(assetOf(r, 'coingecko', 'pepe'))
    expect(r.conflicts).toEqual([])
  })

  it('never puts two ids of one catalog in one asset, even when an override asks', () => {
    const r = resolveIdentities(
      [cg('a', 'A', 'Alpha'), cg('b', 'B', 'Beta')],
      [
        {
          why: 'wrong',
          members: [
            { source: 'coingecko', sourceAssetId: 'a' },
            { source: 'coingecko', sourceAssetId: 'b' },
          ],
        },
      ],
      OPTIONS,
    )
    expect(r.assets.size).toBe(2)
    expect(r.conflicts[0]?.reason).toBe('OVERRIDE_CLASH')
  })

  it('names each asset after its strongest source and keeps ids unique', () => {
    const r = resolveIdentities(
      [
        cp('wbtc-wrapped-bitcoin', 'WBTC', 'Wrapped Bitcoin'),
        asset('csv', 'XBT:wrapped bitcoin', 'XBT', 'Wrapped Bitcoin'),
      ],
      [],
      OPTIONS,
    )
    expect([...r.assets.keys()].sort()).toEqual(['wrapped-bitcoin', 'wrapped-bitcoin-xbt'])
  })
})

describe('resolveIdentities: properties', () => {
  const symbols = ['AXL', 'ONE', 'BNB', 'LEO', 'X']
  const names = ['Axelar', 'AXL Inu', 'Harmony', '1 (one)', 'BNB', 'Binance Coin', null]
  const evidenceArb = fc
    .uniqueArray(
      fc.record({
        source: fc.constantFrom('coingecko', 'coinpaprika', 'csv', 'manual'),
        id: fc.integer({ min: 0, max: 12 }),
        symbol: fc.constantFrom(...symbols),
        name: fc.constantFrom(...names),
        price: fc.constantFrom(1, 1.01, 2, 100),
        ranked: fc.boolean(),
        contract: fc.option(fc.constantFrom('0xaa', '0xbb'), { nil: undefined }),
      }),
      { selector: (e) => `${e.source}:${e.id}`, maxLength: 24 },
    )
    .map((items) =>
      items.map((e) =>
        asset(
          e.source,
          `${e.source.slice(0, 2)}${e.id}`,
          e.symbol,
          e.source.startsWith('co') ? (e.name ?? e.symbol) : e.name,
          {
            priceUsd: e.price,
            rank: e.ranked ? 5 : null,
            contracts: e.contract ? [{ platform: 'ethereum', address: e.contract }] : [],
          },
        ),
      ),
    )

  it('gives the same assets whatever order the evidence arrives in', () => {
    fc.assert(
      fc.property(evidenceArb, fc.infiniteStream(fc.nat()), (evidence, seeds) => {
        const shuffled = [...evidence]
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = seeds.next().value % (i + 1)
          ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
        }
        const a = resolveIdentities(evidence, [], OPTIONS)
        const b = resolveIdentities(shuffled, [], OPTIONS)
        expect([...b.assignments].sort()).toEqual([...a.assignments].sort())
        expect(b.conflicts).toEqual(a.conflicts)
      }),
      { numRuns: 300 },
    )
  })

  it('maps every source asset to exactly one existing asset, and one catalog id per asset at most', () => {
    fc.assert(
      fc.property(evidenceArb, (evidence) => {
        const r = resolveIdentities(evidence, [], OPTIONS)
        expect(r.assignments.size).toBe(evidence.length)
        const catalogIds = new Set<string>()
        for (const [key, a] of r.assignments) {
          expect(r.assets.has(a.assetId)).toBe(true)
          const [source] = key.split('\u0000')
          if (source === 'coingecko' || source === 'coinpaprika') {
            expect(catalogIds.has(`${a.assetId}:${source}`)).toBe(false)
            catalogIds.add(`${a.assetId}:${source}`)
          }
        }
        for (const id of r.assets.keys())
          expect([...r.assignments.values()].some((a) => a.assetId === id)).toBe(true)
      }),
      { numRuns: 300 },
    )
  })
})
