import { describe, expect, it } from 'vitest'
import { anAsset, nodeOf, refOf, RESOLVE_OPTIONS } from '../../test/helpers/identity-builders.js'
import { buildNodes, type EvidenceNodes } from './build-nodes.js'
import {
  joinOverrides,
  joinSharedContracts,
  joinSymbolAndName,
  joinSymbolAndPrice,
  joinSymbolOnly,
  startClustering,
  type Clustering,
} from './cluster-nodes.js'
import type { SourceAssetEvidence } from './identity-evidence.js'

const X = { contracts: [{ platform: 'ethereum', address: '0x467719ad09025fcc6cf6f8311755809d45a5e5f3' }] }

function setUp(evidence: readonly SourceAssetEvidence[]) {
  const nodes = buildNodes(evidence, RESOLVE_OPTIONS)
  const clustering = startClustering(nodes.sorted)
  const together = (a: string, b: string) =>
    clustering.clusters.find(nodeOf(nodes, a)) === clustering.clusters.find(nodeOf(nodes, b))
  return { nodes, clustering, together }
}

/** The conflicts as `source:id REASON ← candidate, candidate`. */
function conflictsOf({ conflicts }: Clustering): string[] {
  return conflicts.map(
    (c) => `${refOf(c.node)} ${c.reason} ← ${c.candidates.map((x) => refOf(x.via)).join(', ')}`,
  )
}

function linkOf(nodes: EvidenceNodes, ref: string) {
  return nodeOf(nodes, ref).link
}

describe('joinOverrides', () => {
  it('joins the members, pins the id, and reports a member that would give an asset two ids of one catalog', () => {
    const { nodes, clustering, together } = setUp([
      anAsset('coingecko', 'a1'),
      anAsset('coingecko', 'a2'),
      anAsset('coinpaprika', 'p1'),
    ])
    joinOverrides(clustering, nodes.byKey, [
      {
        assetId: 'alpha',
        members: [
          { source: 'coinpaprika', sourceAssetId: 'p1' },
          { source: 'coingecko', sourceAssetId: 'a2' },
          { source: 'csv', sourceAssetId: 'unknown' },
          { source: 'coingecko', sourceAssetId: 'a1' },
        ],
        why: 'reviewed',
      },
    ])
    expect(together('coingecko:a1', 'coinpaprika:p1')).toBe(true)
    expect(together('coingecko:a1', 'coingecko:a2')).toBe(false)
    expect(conflictsOf(clustering)).toEqual(['coingecko:a2 OVERRIDE_CLASH ← coingecko:a1'])
    expect(clustering.pins.get(clustering.clusters.find(nodeOf(nodes, 'coinpaprika:p1')))).toBe('alpha')
    expect(nodes.sorted.map((n) => n.overridden)).toEqual([true, true, true])
    expect(linkOf(nodes, 'coinpaprika:p1')).toEqual({ level: 'override', confidence: 1 })
  })
})

describe('joinSharedContracts', () => {
  it("joins a contract across sources, leaving out a catalog's inactive copy of it", () => {
    const { nodes, clustering, together } = setUp([
      anAsset('coingecko', 'real', X),
      anAsset('coingecko', 'copy', { ...X, active: false }),
      anAsset('coinpaprika', 'p-real', { ...X, name: 'Something Else' }),
    ])
    joinSharedContracts(clustering)
    expect(together('coingecko:real', 'coinpaprika:p-real')).toBe(true)
    expect(together('coingecko:real', 'coingecko:copy')).toBe(false)
    expect(conflictsOf(clustering)).toEqual([])
    expect(linkOf(nodes, 'coinpaprika:p-real')).toEqual({ level: 'contract', confidence: 0.95 })
  })

  it('keeps apart and reports an asset whose contract two active ids of one catalog share', () => {
    const { clustering, together } = setUp([
      anAsset('coingecko', 'one', X),
      anAsset('coingecko', 'two', X),
      anAsset('coinpaprika', 'p', X),
    ])
    joinSharedContracts(clustering)
    expect(together('coinpaprika:p', 'coingecko:one')).toBe(false)
    expect(together('coinpaprika:p', 'coingecko:two')).toBe(false)
    expect(conflictsOf(clustering)).toEqual([
      'coinpaprika:p AMBIGUOUS_CONTRACT ← coingecko:one, coingecko:two',
    ])
  })
})

describe('joinSymbolAndName', () => {
  it('joins a symbol and a name that normalize alike, and nothing with another symbol', () => {
    const { nodes, clustering, together } = setUp([
      anAsset('coingecko', 'curve-dao-token', { symbol: 'CRV', name: 'Curve DAO Token' }),
      anAsset('coinpaprika', 'crv-curve-dao', { symbol: 'CRV', name: 'Curve DAO' }),
      anAsset('csv', 'CRVX:curve dao', { symbol: 'CRVX', name: 'Curve DAO' }),
    ])
    joinSymbolAndName(clustering)
    expect(together('coingecko:curve-dao-token', 'coinpaprika:crv-curve-dao')).toBe(true)
    expect(together('coingecko:curve-dao-token', 'csv:CRVX:curve dao')).toBe(false)
    expect(linkOf(nodes, 'coinpaprika:crv-curve-dao')).toEqual({ level: 'symbol_name', confidence: 0.9 })
  })
})

describe('joinSymbolAndPrice', () => {
  it('joins two sources whose prices agree, more confidently the closer they are', () => {
    const { nodes, clustering, together } = setUp([
      anAsset('coingecko', 'a', { priceUsd: 1 }),
      anAsset('coinpaprika', 'b', { name: 'Another Name', priceUsd: 1.01 }),
    ])
    joinSymbolAndPrice(clustering, RESOLVE_OPTIONS)
    expect(together('coingecko:a', 'coinpaprika:b')).toBe(true)
    // 1% apart with a 2% tolerance: halfway between 0.6 and 0.8.
    expect(linkOf(nodes, 'coinpaprika:b')).toEqual({ level: 'symbol_price', confidence: 0.7 })
  })

  it('joins nothing and reports the asset whose price agrees with two others', () => {
    const { clustering, together } = setUp([
      anAsset('coingecko', 'a', { priceUsd: 1 }),
      anAsset('coingecko', 'b', { priceUsd: 1.01 }),
      anAsset('coinpaprika', 'c', { priceUsd: 1.005 }),
    ])
    joinSymbolAndPrice(clustering, RESOLVE_OPTIONS)
    expect(together('coinpaprika:c', 'coingecko:a')).toBe(false)
    expect(together('coinpaprika:c', 'coingecko:b')).toBe(false)
    expect(conflictsOf(clustering)).toEqual(['coinpaprika:c AMBIGUOUS_PRICE ← coingecko:a, coingecko:b'])
  })

  it('ignores prices observed further apart than the window', () => {
    const { clustering, together } = setUp([
      anAsset('coingecko', 'a', { priceUsd: 1 }),
      anAsset('coinpaprika', 'b', { priceUsd: 1, observedAt: '2026-11-25T14:00:00.000Z' }),
    ])
    joinSymbolAndPrice(clustering, RESOLVE_OPTIONS)
    expect(together('coingecko:a', 'coinpaprika:b')).toBe(false)
  })
})

describe('joinSymbolOnly', () => {
  it('joins a symbol-only row to the one eligible asset with its symbol, and never guesses among several', () => {
    const { nodes, clustering, together } = setUp([
      anAsset('coingecko', 'alpha', { symbol: 'AAA', name: 'Alpha' }),
      anAsset('csv', 'AAA', { symbol: 'AAA', name: null }),
      anAsset('coingecko', 'beta', { symbol: 'BBB', name: 'Beta' }),
      anAsset('coinpaprika', 'bravo', { symbol: 'BBB', name: 'Bravo' }),
      anAsset('csv', 'BBB', { symbol: 'BBB', name: null }),
      anAsset('coingecko', 'gamma', { symbol: 'CCC', name: 'Gamma', active: false }),
      anAsset('csv', 'CCC', { symbol: 'CCC', name: null }),
    ])
    joinSymbolOnly(clustering)
    expect(together('csv:AAA', 'coingecko:alpha')).toBe(true)
    expect(linkOf(nodes, 'csv:AAA')).toEqual({ level: 'symbol_only', confidence: 0.5 })
    expect(together('csv:BBB', 'coingecko:beta') || together('csv:BBB', 'coinpaprika:bravo')).toBe(false)
    expect(together('csv:CCC', 'coingecko:gamma')).toBe(false)
    expect(conflictsOf(clustering)).toEqual([
      'csv:BBB AMBIGUOUS_SYMBOL ← coingecko:beta, coinpaprika:bravo',
      'csv:CCC INELIGIBLE_CANDIDATE ← coingecko:gamma',
    ])
  })
})
