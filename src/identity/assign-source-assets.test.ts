import { describe, expect, it } from 'vitest'
import { anAsset, nodeOf, RESOLVE_OPTIONS } from '../../test/helpers/identity-builders.js'
import { anchorAssets } from './anchor-assets.js'
import { assignSourceAssets } from './assign-source-assets.js'
import { buildNodes } from './build-nodes.js'
import { startClustering } from './cluster-nodes.js'
import { sourceAssetKey } from './identity-keys.js'

describe('assignSourceAssets', () => {
  it('records the anchor by its own evidence and every other member by its weakest link', () => {
    const nodes = buildNodes(
      [
        anAsset('coingecko', 'alpha'),
        anAsset('coinpaprika', 'p-alpha'),
        anAsset('csv', 'AAA', { name: null }),
        anAsset('coingecko', 'beta', { symbol: 'BBB', name: 'Beta' }),
        anAsset('csv', 'ZZZ', { symbol: 'ZZZ', name: null }),
      ],
      RESOLVE_OPTIONS,
    )
    const clustering = startClustering(nodes.sorted)
    const alpha = nodeOf(nodes, 'coingecko:alpha')
    clustering.clusters.union(alpha, nodeOf(nodes, 'coinpaprika:p-alpha'), 'contract', 0.95)
    clustering.clusters.union(alpha, nodeOf(nodes, 'csv:AAA'), 'symbol_only', 0.5)
    alpha.overridden = true

    const { assets, assignments } = assignSourceAssets(anchorAssets(nodes.sorted, clustering))
    const assignment = (source: string, sourceAssetId: string) =>
      assignments.get(sourceAssetKey({ source, sourceAssetId }))
    expect(assignment('coingecko', 'alpha')).toEqual({ assetId: 'alpha', method: 'override', confidence: 1 })
    expect(assignment('coinpaprika', 'p-alpha')).toEqual({
      assetId: 'alpha',
      method: 'contract',
      confidence: 0.95,
    })
    expect(assignment('csv', 'AAA')).toEqual({ assetId: 'alpha', method: 'symbol_name', confidence: 0.5 })
    expect(assignment('coingecko', 'beta')).toEqual({ assetId: 'beta', method: 'new', confidence: 1 })
    expect([...assets.values()]).toEqual([
      { id: 'alpha', symbol: 'AAA', name: 'Alpha' },
      { id: 'beta', symbol: 'BBB', name: 'Beta' },
      { id: 'zzz', symbol: 'ZZZ', name: 'ZZZ' },
    ])
  })
})
