import type { ResolveOptions, SourceAssetEvidence } from './identity-evidence.js'
import { compare, type Node } from './identity-clusters.js'
import { sourceAssetKey } from './identity-keys.js'

/** The resolver's nodes, one per source asset. */
export interface EvidenceNodes {
  /** By `sourceAssetKey`. */
  readonly byKey: ReadonlyMap<string, Node>
  /** In resolution order: catalog priority, then source, then the source's id; never arrival order. */
  readonly sorted: readonly Node[]
}

/**
 * Gathers the evidence into nodes: one per source asset (a later row for the same source asset
 * replaces an earlier one), each with its sort key and whether a symbol or price join may use it.
 * A catalog's asset is eligible only while active, ranked and with a market cap, so copies and dead
 * coins never attract a join; other sources' assets always are.
 */
export function buildNodes(evidence: readonly SourceAssetEvidence[], options: ResolveOptions): EvidenceNodes {
  const priority = (source: string) => {
    const index = options.catalogSources.indexOf(source)
    return index === -1 ? options.catalogSources.length : index
  }
  const byKey = new Map<string, Node>()
  for (const e of evidence) {
    const key = sourceAssetKey(e)
    const catalog = options.catalogSources.includes(e.source)
    byKey.set(key, {
      evidence: e,
      key,
      order: `${String(priority(e.source)).padStart(3, '0')}\u0000${e.source}\u0000${e.sourceAssetId}`,
      catalog,
      eligible: !catalog || (e.active && e.rank !== null && e.marketCapUsd !== null),
    })
  }
  const sorted = [...byKey.values()].sort((a, b) => compare(a.order, b.order))
  return { byKey, sorted }
}
