import { compare, type ClusterConflict, type Node } from './identity-clusters.js'
import type { IdentityConflict } from './identity-evidence.js'
import { sourceAssetKey } from './identity-keys.js'

/**
 * The conflicts as reported, with the asset ids every node and candidate ended up in: one per
 * source asset and reason (the first recorded wins), sorted by source asset then reason, candidates
 * by asset id, so the report never depends on the order the rules met them in.
 */
export function reportConflicts(
  conflicts: readonly ClusterConflict[],
  assetIdOf: (node: Node) => string,
): IdentityConflict[] {
  const seen = new Set<string>()
  const reported: IdentityConflict[] = []
  for (const c of conflicts) {
    const dedupe = `${c.node.key}\u0000${c.reason}`
    if (seen.has(dedupe)) continue
    seen.add(dedupe)
    reported.push({
      source: c.node.evidence.source,
      sourceAssetId: c.node.evidence.sourceAssetId,
      symbol: c.node.evidence.symbol,
      name: c.node.evidence.name,
      assetId: assetIdOf(c.node),
      reason: c.reason,
      detail: c.detail,
      candidates: c.candidates
        .map((candidate) => ({
          assetId: assetIdOf(candidate.root),
          source: candidate.via.evidence.source,
          sourceAssetId: candidate.via.evidence.sourceAssetId,
          symbol: candidate.via.evidence.symbol,
          name: candidate.via.evidence.name,
          why: candidate.why,
        }))
        .sort((a, b) => compare(a.assetId, b.assetId)),
    })
  }
  reported.sort((a, b) => compare(sourceAssetKey(a), sourceAssetKey(b)) || compare(a.reason, b.reason))
  return reported
}
