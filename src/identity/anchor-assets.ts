import type { Clustering } from './cluster-nodes.js'
import { compare, type Node } from './identity-clusters.js'
import { slugify } from './identity-keys.js'

/** One canonical asset: a cluster with its id and its anchor, whose symbol and name it takes. */
export interface AnchoredAsset {
  readonly id: string
  /** The cluster's first member in resolution order. */
  readonly anchor: Node
  /** In resolution order, the anchor first. */
  readonly members: readonly Node[]
}

/**
 * Picks each cluster's anchor and asset id. Pinned ids come first; then a coin whose own id is its
 * name's slug (CoinGecko's `bitcoin`) keeps that slug when a later namesake arrives; the other anchors
 * take slugs of their names in order, suffixed with the symbol or a number when taken.
 * Returns the assets by cluster root, in anchor order.
 */
export function anchorAssets(
  nodes: readonly Node[],
  { clusters, pins }: Pick<Clustering, 'clusters' | 'pins'>,
): Map<Node, AnchoredAsset> {
  const members = new Map<Node, Node[]>()
  for (const node of nodes) {
    const root = clusters.find(node)
    const list = members.get(root)
    if (list) list.push(node)
    else members.set(root, [node])
  }
  const anchorOf = (root: Node): Node => members.get(root)![0]!
  const ids = pickIds([...members.keys()], anchorOf, pins)
  const assets = new Map<Node, AnchoredAsset>()
  for (const [root, list] of members)
    assets.set(root, { id: ids.get(root)!, anchor: anchorOf(root), members: list })
  return assets
}

function pickIds(
  roots: Node[],
  anchorOf: (root: Node) => Node,
  pins: ReadonlyMap<Node, string>,
): Map<Node, string> {
  const ids = new Map<Node, string>()
  const taken = new Set<string>()
  roots.sort((a, b) => compare(anchorOf(a).order, anchorOf(b).order))
  for (const root of roots) {
    const pin = pins.get(root)
    if (pin !== undefined && !taken.has(pin)) {
      ids.set(root, pin)
      taken.add(pin)
    }
  }
  const slugOf = (root: Node) => {
    const anchor = anchorOf(root).evidence
    return slugify(anchor.name ?? anchor.symbol) || slugify(anchor.symbol) || 'asset'
  }
  const ownsSlug = (root: Node) => (anchorOf(root).evidence.sourceAssetId === slugOf(root) ? 0 : 1)
  roots.sort((a, b) => ownsSlug(a) - ownsSlug(b) || compare(anchorOf(a).order, anchorOf(b).order))
  for (const root of roots) {
    if (ids.has(root)) continue
    const anchor = anchorOf(root).evidence
    const symbol = slugify(anchor.symbol)
    const base = slugOf(root)
    let id = base
    if (taken.has(id)) id = symbol && symbol !== base ? `${base}-${symbol}` : `${base}-2`
    for (let n = 2; taken.has(id); n++) id = `${base}-${symbol || 'asset'}-${n}`
    ids.set(root, id)
    taken.add(id)
  }
  return ids
}
