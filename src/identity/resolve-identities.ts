import { anchorAssets } from './anchor-assets.js'
import { assignSourceAssets } from './assign-source-assets.js'
import { buildNodes } from './build-nodes.js'
import { clusterNodes } from './cluster-nodes.js'
import type { Node } from './identity-clusters.js'
import type { AssetOverride, Resolution, ResolveOptions, SourceAssetEvidence } from './identity-evidence.js'
import { reportConflicts } from './report-conflicts.js'

export { METHOD_CONFIDENCE } from './identity-evidence.js'
export type {
  SourceAssetEvidence,
  SourceAssetId,
  AssetOverride,
  ResolveOptions,
  Assignment,
  ResolvedAsset,
  ConflictReason,
  ConflictCandidate,
  IdentityConflict,
  Resolution,
} from './identity-evidence.js'

/**
 * Resolves every known source asset to a canonical asset, from all the evidence at once. The result
 * depends only on the evidence, the overrides and the options, never on the order they arrive in:
 * nodes and keys are visited in sorted order, and each rule decides from the state before it runs.
 *
 * Evidence, strongest first: reviewed overrides; a shared contract address on the same platform;
 * the same symbol and normalized name; the same symbol and agreeing prices observed together; and,
 * for a row that has only a symbol, the one eligible asset carrying that symbol. Ambiguity is never
 * guessed: the source asset stays on its own and a conflict names the candidates.
 */
export function resolveIdentities(
  evidence: readonly SourceAssetEvidence[],
  overrides: readonly AssetOverride[],
  options: ResolveOptions,
): Resolution {
  const nodes = buildNodes(evidence, options)
  const clustering = clusterNodes(nodes, overrides, options)
  const assets = anchorAssets(nodes.sorted, clustering)
  const assetIdOf = (node: Node) => assets.get(clustering.clusters.find(node))!.id
  return { ...assignSourceAssets(assets), conflicts: reportConflicts(clustering.conflicts, assetIdOf) }
}
