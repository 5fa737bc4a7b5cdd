import { describe, expect, it } from 'vitest'
import { anAsset, nodeOf, refOf, RESOLVE_OPTIONS } from '../../test/helpers/identity-builders.js'
import { anchorAssets } from './anchor-assets.js'
import { buildNodes } from './build-nodes.js'
import { startClustering } from './cluster-nodes.js'

describe('anchorAssets', () => {
  it('anchors a cluster on its first member in resolution order, whichever way it was joined', () => {
    const nodes = buildNodes(
      [
        anAsset('csv', 'AAA', { name: null }),
        anAsset('coinpaprika', 'alpha-p', { name: 'Alpha P' }),
        anAsset('coingecko', 'alpha'),
      ],
      RESOLVE_OPTIONS,
    )
    const clustering = startClustering(nodes.sorted)
    clustering.clusters.union(nodeOf(nodes, 'csv:AAA'), nodeOf(nodes, 'coinpaprika:alpha-p'), 'contract', 1)
    clustering.clusters.union(nodeOf(nodes, 'csv:AAA'), nodeOf(nodes, 'coingecko:alpha'), 'contract', 1)

    const assets = [...anchorAssets(nodes.sorted, clustering).values()]
    expect(assets).toHaveLength(1)
    expect(assets[0]!.id).toBe('alpha')
    expect(refOf(assets[0]!.anchor)).toBe('coingecko:alpha')
    expect(assets[0]!.members.map(refOf)).toEqual(['coingecko:alpha', 'coinpaprika:alpha-p', 'csv:AAA'])
  })

  it("gives pinned ids first, then a coin whose id is its name's slug, then slugs suffixed when taken", () => {
    const nodes = buildNodes(
      [
        anAsset('coingecko', 'abc', { symbol: 'BTC', name: 'Bitcoin' }),
        anAsset('coingecko', 'bitcoin', { symbol: 'BTC', name: 'Bitcoin' }),
        anAsset('coingecko', 'btc2', { symbol: 'BTC', name: 'Bitcoin' }),
        anAsset('coingecko', 'alpha', { symbol: 'AAA', name: 'Alpha' }),
        anAsset('coingecko', 'zzz', { symbol: 'ZZZ', name: 'Zed' }),
      ],
      RESOLVE_OPTIONS,
    )
    const clustering = startClustering(nodes.sorted)
    clustering.pins.set(nodeOf(nodes, 'coingecko:zzz'), 'alpha')

    const assets = [...anchorAssets(nodes.sorted, clustering).values()]
    expect(assets.map((a) => [a.anchor.evidence.sourceAssetId, a.id])).toEqual([
      ['abc', 'bitcoin-btc'],
      ['alpha', 'alpha-aaa'],
      ['bitcoin', 'bitcoin'],
      ['btc2', 'bitcoin-btc-2'],
      ['zzz', 'alpha'],
    ])
  })
})
