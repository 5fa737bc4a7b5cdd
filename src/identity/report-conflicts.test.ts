import { describe, expect, it } from 'vitest'
import { anAsset, nodeOf, RESOLVE_OPTIONS } from '../../test/helpers/identity-builders.js'
import { buildNodes } from './build-nodes.js'
import type { ClusterConflict, Node } from './identity-clusters.js'
import { reportConflicts } from './report-conflicts.js'

describe('reportConflicts', () => {
  it('reports one conflict per source asset and reason, sorted, with candidates by asset id', () => {
    const nodes = buildNodes(
      [
        anAsset('coingecko', 'a'),
        anAsset('coingecko', 'b'),
        anAsset('coinpaprika', 'c'),
        anAsset('csv', 'AAA', { name: null }),
      ],
      RESOLVE_OPTIONS,
    )
    const [a, b, c, csv] = ['coingecko:a', 'coingecko:b', 'coinpaprika:c', 'csv:AAA'].map((ref) =>
      nodeOf(nodes, ref),
    ) as [Node, Node, Node, Node]
    const assetIds = new Map([
      [a, 'zeta'],
      [b, 'alpha'],
      [c, 'gamma'],
      [csv, 'aaa'],
    ])
    const conflicts: ClusterConflict[] = [
      {
        node: csv,
        reason: 'AMBIGUOUS_SYMBOL',
        detail: 'first',
        candidates: [
          { root: a, via: a, why: 'same symbol' },
          { root: b, via: b, why: 'same symbol' },
        ],
      },
      { node: csv, reason: 'AMBIGUOUS_SYMBOL', detail: 'second', candidates: [] },
      { node: c, reason: 'AMBIGUOUS_PRICE', detail: 'price', candidates: [] },
      { node: c, reason: 'AMBIGUOUS_NAME', detail: 'name', candidates: [] },
    ]

    const reported = reportConflicts(conflicts, (node) => assetIds.get(node)!)
    expect(reported.map((r) => [r.source, r.reason, r.detail, r.assetId])).toEqual([
      ['coinpaprika', 'AMBIGUOUS_NAME', 'name', 'gamma'],
      ['coinpaprika', 'AMBIGUOUS_PRICE', 'price', 'gamma'],
      ['csv', 'AMBIGUOUS_SYMBOL', 'first', 'aaa'],
    ])
    expect(reported[2]!.candidates).toEqual([
      {
        assetId: 'alpha',
        source: 'coingecko',
        sourceAssetId: 'b',
        symbol: 'AAA',
        name: 'Alpha',
        why: 'same symbol',
      },
      {
        assetId: 'zeta',
        source: 'coingecko',
        sourceAssetId: 'a',
        symbol: 'AAA',
        name: 'Alpha',
        why: 'same symbol',
      },
    ])
  })
})
