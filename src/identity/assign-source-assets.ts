import type { AnchoredAsset } from './anchor-assets.js'
import type { Node } from './identity-clusters.js'
import {
  METHOD_CONFIDENCE,
  type Assignment,
  type Resolution,
  type ResolvedAsset,
} from './identity-evidence.js'

/**
 * The assets and, per source asset, how it reached its asset: an anchor stands on its own (`override`
 * when an override names it, else `new`); every other member carries the weakest evidence on its path
 * to the anchor.
 */
export function assignSourceAssets(
  assets: ReadonlyMap<Node, AnchoredAsset>,
): Pick<Resolution, 'assets' | 'assignments'> {
  const resolved = new Map<string, ResolvedAsset>()
  const assignments = new Map<string, Assignment>()
  for (const { id, anchor, members } of assets.values()) {
    resolved.set(id, {
      id,
      symbol: anchor.evidence.symbol,
      name: anchor.evidence.name ?? anchor.evidence.symbol,
    })
    for (const node of members) assignments.set(node.key, assignmentOf(node, anchor, id))
  }
  return { assets: resolved, assignments }
}

function assignmentOf(node: Node, anchor: Node, assetId: string): Assignment {
  const link = node === anchor ? undefined : node.link
  if (link) {
    // Aliases record no `symbol_only` method: a symbol-only row is a symbol match with a low confidence.
    const method = link.level === 'symbol_only' ? 'symbol_name' : link.level
    return { assetId, method, confidence: link.confidence }
  }
  return node.overridden
    ? { assetId, method: 'override', confidence: METHOD_CONFIDENCE.override }
    : { assetId, method: 'new', confidence: METHOD_CONFIDENCE.new }
}
