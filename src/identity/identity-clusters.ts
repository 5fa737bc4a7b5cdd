import type { ConflictReason, ResolveOptions, SourceAssetEvidence } from './identity-evidence.js'

/** How a source asset reached its asset: the rule that joined it, strongest first. */
export type Level = 'override' | 'contract' | 'symbol_name' | 'symbol_only' | 'symbol_price'

export interface Node {
  readonly evidence: SourceAssetEvidence
  readonly key: string
  /** Sort key: source priority, then the source's own id. Independent of input order. */
  readonly order: string
  readonly catalog: boolean
  readonly eligible: boolean
  /** The weakest evidence on this node's path to its asset's anchor; unset for the anchor itself. */
  link?: { level: Level; confidence: number }
  /** Named in a reviewed override. */
  overridden?: boolean
}

/** A conflict while clustering, by node; reported with asset ids once every id is known. */
export interface ClusterConflict {
  readonly node: Node
  readonly reason: ConflictReason
  readonly detail: string
  readonly candidates: readonly { readonly root: Node; readonly via: Node; readonly why: string }[]
}

/** Union-find over nodes that keeps, per cluster, which catalog sources it already holds. */
export class Clusters {
  private readonly parent = new Map<Node, Node>()
  private readonly sources = new Map<Node, Set<string>>()
  private readonly members = new Map<Node, Node[]>()

  constructor(nodes: readonly Node[]) {
    for (const node of nodes) {
      this.parent.set(node, node)
      this.sources.set(node, new Set(node.catalog ? [node.evidence.source] : []))
      this.members.set(node, [node])
    }
  }

  find(node: Node): Node {
    let root = node
    while (this.parent.get(root) !== root) root = this.parent.get(root)!
    let current = node
    while (current !== root) {
      const next = this.parent.get(current)!
      this.parent.set(current, root)
      current = next
    }
    return root
  }

  size(node: Node): number {
    return this.members.get(this.find(node))!.length
  }

  catalogSources(node: Node): ReadonlySet<string> {
    return this.sources.get(this.find(node))!
  }

  compatible(a: Node, b: Node): boolean {
    const sa = this.catalogSources(a)
    for (const s of this.catalogSources(b)) if (sa.has(s)) return false
    return true
  }

  allCompatible(roots: readonly Node[]): boolean {
    const seen = new Set<string>()
    for (const root of roots) {
      for (const s of this.catalogSources(root)) {
        if (seen.has(s)) return false
        seen.add(s)
      }
    }
    return true
  }

  /** Joins the clusters of `a` and `b` unless that would give one asset two ids of one catalog. */
  union(a: Node, b: Node, level: Level, confidence: number): boolean {
    const ra = this.find(a)
    const rb = this.find(b)
    if (ra === rb) return true
    if (!this.compatible(ra, rb)) return false
    // The root is the cluster's strongest member, so a cluster's root never depends on union order.
    const [keep, absorb] = compare(ra.order, rb.order) <= 0 ? [ra, rb] : [rb, ra]
    // Every member of the absorbed side now reaches the anchor through this edge too: its provenance
    // is the weakest evidence on that path.
    const absorbed = this.members.get(absorb)!
    for (const node of absorbed) {
      if (!node.link || confidence < node.link.confidence) node.link = { level, confidence }
    }
    this.parent.set(absorb, keep)
    for (const s of this.sources.get(absorb)!) this.sources.get(keep)!.add(s)
    this.members.get(keep)!.push(...absorbed)
    this.sources.delete(absorb)
    this.members.delete(absorb)
    return true
  }
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function priceDifferencePct(
  a: SourceAssetEvidence,
  b: SourceAssetEvidence,
  options: ResolveOptions,
): number | undefined {
  const apart = Math.abs(Date.parse(a.observedAt!) - Date.parse(b.observedAt!))
  if (!(apart <= options.priceWindowMs)) return undefined
  const low = Math.min(a.priceUsd!, b.priceUsd!)
  const diffPct = (Math.abs(a.priceUsd! - b.priceUsd!) / low) * 100
  return diffPct <= options.priceTolerancePct ? diffPct : undefined
}

export function addPartner(
  partners: Map<Node, Map<Node, { via: Node; other: Node; diffPct: number }>>,
  root: Node,
  other: Node,
  match: { via: Node; other: Node; diffPct: number },
): void {
  let found = partners.get(root)
  if (!found) partners.set(root, (found = new Map<Node, { via: Node; other: Node; diffPct: number }>()))
  const known = found.get(other)
  if (!known || match.diffPct < known.diffPct) found.set(other, match)
}

export function groupBy(
  nodes: readonly Node[],
  keysOf: (node: Node) => readonly string[],
): Map<string, Node[]> {
  const groups = new Map<string, Node[]>()
  for (const node of nodes) {
    for (const key of new Set(keysOf(node))) {
      const list = groups.get(key)
      if (list) list.push(node)
      else groups.set(key, [node])
    }
  }
  return new Map([...groups].sort(([a], [b]) => compare(a, b)))
}

export function describe(node: Node): string {
  const e = node.evidence
  return `${e.source} ${e.sourceAssetId} (${e.symbol}${e.name ? `, ${e.name}` : ''})`
}

export function round(value: number): number {
  return Math.round(value * 1000) / 1000
}
