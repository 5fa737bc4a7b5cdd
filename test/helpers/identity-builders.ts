import type { EvidenceNodes } from '../../src/identity/build-nodes.js'
import type { Node } from '../../src/identity/identity-clusters.js'
import type { ResolveOptions, SourceAssetEvidence } from '../../src/identity/identity-evidence.js'
import { sourceAssetKey } from '../../src/identity/identity-keys.js'

export const RESOLVE_OPTIONS: ResolveOptions = {
  catalogSources: ['coingecko', 'coinpaprika'],
  priceTolerancePct: 2,
  priceWindowMs: 3_600_000,
}

/** A source asset as the resolver reads it: `AAA` "Alpha", active, ranked, priced at $1 at noon. */
export function anAsset(
  source: string,
  sourceAssetId: string,
  more: Partial<SourceAssetEvidence> = {},
): SourceAssetEvidence {
  return {
    source,
    sourceAssetId,
    symbol: 'AAA',
    name: 'Alpha',
    rank: 10,
    marketCapUsd: 1e9,
    priceUsd: 1,
    observedAt: '2026-11-25T12:00:00.000Z',
    active: true,
    contracts: [],
    ...more,
  }
}

/** The node of `source:sourceAssetId`; throws when there is none, so a typo fails the test. */
export function nodeOf(nodes: EvidenceNodes, ref: string): Node {
  const at = ref.indexOf(':')
  const [source, sourceAssetId] = [ref.slice(0, at), ref.slice(at + 1)]
  const node = nodes.byKey.get(sourceAssetKey({ source, sourceAssetId }))
  if (!node) throw new Error(`no node ${ref}`)
  return node
}

/** `source:sourceAssetId` of a node, as tests name them. */
export function refOf(node: Node): string {
  return `${node.evidence.source}:${node.evidence.sourceAssetId}`
}
