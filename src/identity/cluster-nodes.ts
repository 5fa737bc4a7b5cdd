import type { EvidenceNodes } from './build-nodes.js'
import {
  addPartner,
  Clusters,
  compare,
  describe,
  groupBy,
  priceDifferencePct,
  round,
  type ClusterConflict,
  type Level,
  type Node,
} from './identity-clusters.js'
import {
  METHOD_CONFIDENCE,
  type AssetOverride,
  type ConflictReason,
  type ResolveOptions,
} from './identity-evidence.js'
import { normalizeName, sourceAssetKey } from './identity-keys.js'

/** What the join rules build up: clusters of nodes, what they could not decide, and pinned ids. */
export interface Clustering {
  /** In resolution order (`EvidenceNodes.sorted`). */
  readonly nodes: readonly Node[]
  readonly clusters: Clusters
  readonly conflicts: ClusterConflict[]
  /** Asset ids that overrides give, by the root their cluster had after the overrides. */
  readonly pins: Map<Node, string>
}

export function startClustering(nodes: readonly Node[]): Clustering {
  return { nodes, clusters: new Clusters(nodes), conflicts: [], pins: new Map() }
}

/**
 * Clusters the nodes by the join rules, strongest evidence first; each rule decides from the state
 * the stronger ones left.
 */
export function clusterNodes(
  nodes: EvidenceNodes,
  overrides: readonly AssetOverride[],
  options: ResolveOptions,
): Clustering {
  const clustering = startClustering(nodes.sorted)
  joinOverrides(clustering, nodes.byKey, overrides)
  joinSharedContracts(clustering)
  joinSymbolAndName(clustering)
  joinSymbolAndPrice(clustering, options)
  joinSymbolOnly(clustering)
  return clustering
}

/**
 * Overrides are reviewed, so they win; a clash between two of them is reported, not resolved. The
 * members are marked as overridden, and an override's asset id is pinned to its cluster.
 */
export function joinOverrides(
  { clusters, conflicts, pins }: Clustering,
  byKey: ReadonlyMap<string, Node>,
  overrides: readonly AssetOverride[],
): void {
  for (const override of overrides) {
    const members = override.members
      .map((m) => byKey.get(sourceAssetKey(m)))
      .filter((n): n is Node => n !== undefined)
      .sort((a, b) => compare(a.order, b.order))
    const [first, ...rest] = members
    if (!first) continue
    for (const node of rest) {
      if (clusters.union(first, node, 'override', METHOD_CONFIDENCE.override)) continue
      conflicts.push({
        node,
        reason: 'OVERRIDE_CLASH',
        detail: `an override puts ${describe(node)} with ${describe(first)}, but another override or source id already holds that place (${override.why})`,
        candidates: [{ root: clusters.find(first), via: first, why: 'override' }],
      })
    }
    for (const node of members) node.overridden = true
    if (override.assetId !== undefined) {
      const root = clusters.find(first)
      if (!pins.has(root)) pins.set(root, override.assetId)
    }
  }
}

/** Joins the source assets that list the same address on the same platform, across sources. */
export function joinSharedContracts(clustering: Clustering): void {
  const byContract = groupBy(clustering.nodes, (n) =>
    n.evidence.contracts.map((c) => `${c.platform}\u0000${c.address}`),
  )
  for (const [contract, holders] of byContract) {
    mergeGroup(clustering, holders, 'contract', METHOD_CONFIDENCE.contract, {
      reason: 'AMBIGUOUS_CONTRACT',
      why: `same contract ${contract.replace('\u0000', ' ')}`,
    })
  }
}

/** Joins the source assets that share a symbol and a normalized name. */
export function joinSymbolAndName(clustering: Clustering): void {
  const byName = groupBy(
    clustering.nodes.filter((n) => n.evidence.name !== null),
    (n) => [`${n.evidence.symbol}\u0000${normalizeName(n.evidence.name!)}`],
  )
  for (const holders of byName.values()) {
    mergeGroup(clustering, holders, 'symbol_name', METHOD_CONFIDENCE.symbol_name, {
      reason: 'AMBIGUOUS_NAME',
      why: 'same symbol and name',
    })
  }
}

/**
 * Joins two clusters whose assets share a symbol and whose prices, observed together, agree; only
 * between eligible, compatible assets of different sources, and only when each is the other's one
 * agreeing partner. More than one partner is a conflict.
 */
export function joinSymbolAndPrice(
  { nodes, clusters, conflicts }: Clustering,
  options: ResolveOptions,
): void {
  const bySymbol = groupBy(nodes, (n) => [n.evidence.symbol])
  for (const holders of bySymbol.values()) {
    const priced = holders.filter(
      (n) => n.eligible && n.evidence.priceUsd !== null && n.evidence.priceUsd > 0 && n.evidence.observedAt,
    )
    const partners = new Map<Node, Map<Node, { via: Node; other: Node; diffPct: number }>>()
    for (let i = 0; i < priced.length; i++) {
      for (let j = i + 1; j < priced.length; j++) {
        const a = priced[i]!
        const b = priced[j]!
        if (a.evidence.source === b.evidence.source) continue
        const ra = clusters.find(a)
        const rb = clusters.find(b)
        if (ra === rb || !clusters.compatible(ra, rb)) continue
        const diffPct = priceDifferencePct(a.evidence, b.evidence, options)
        if (diffPct === undefined) continue
        addPartner(partners, ra, rb, { via: a, other: b, diffPct })
        addPartner(partners, rb, ra, { via: b, other: a, diffPct })
      }
    }
    const unions: [Node, Node, number][] = []
    for (const [root, found] of partners) {
      if (found.size === 1) {
        const [other, match] = [...found][0]!
        if (partners.get(other)?.size === 1 && compare(root.order, other.order) < 0) {
          const closeness = 1 - match.diffPct / Math.max(options.priceTolerancePct, 1e-9)
          unions.push([match.via, match.other, round(0.6 + 0.2 * closeness)])
        }
        continue
      }
      const via = [...found.values()][0]!.via
      conflicts.push({
        node: via,
        reason: 'AMBIGUOUS_PRICE',
        detail: `${describe(via)} agrees in price with ${found.size} assets carrying ${via.evidence.symbol}; none was chosen`,
        candidates: [...found].map(([candidate, m]) => ({
          root: candidate,
          via: m.other,
          why: `same symbol, price within ${round(m.diffPct)}%`,
        })),
      })
    }
    for (const [a, b, confidence] of unions) clusters.union(a, b, 'symbol_price', confidence)
  }
}

/**
 * A row with only a symbol, still alone, joins the one eligible asset carrying that symbol; several
 * candidates, or only ineligible ones, are a conflict and never a guess.
 */
export function joinSymbolOnly({ nodes, clusters, conflicts }: Clustering): void {
  const bySymbol = groupBy(nodes, (n) => [n.evidence.symbol])
  const decisions: [Node, Node][] = []
  for (const node of nodes) {
    if (node.evidence.name !== null || node.catalog || clusters.size(node) > 1) continue
    const candidates = new Map<Node, Node>()
    const ineligible = new Map<Node, Node>()
    for (const other of bySymbol.get(node.evidence.symbol) ?? []) {
      const root = clusters.find(other)
      if (root === clusters.find(node) || (other.evidence.name === null && clusters.size(other) === 1))
        continue
      if (other.eligible) candidates.set(root, other)
      else if (!candidates.has(root)) ineligible.set(root, other)
    }
    for (const root of candidates.keys()) ineligible.delete(root)
    if (candidates.size === 1) {
      decisions.push([node, [...candidates.values()][0]!])
    } else if (candidates.size > 1) {
      conflicts.push({
        node,
        reason: 'AMBIGUOUS_SYMBOL',
        detail: `${describe(node)} has only a symbol, and ${candidates.size} assets carry ${node.evidence.symbol}; it was kept apart`,
        candidates: [...candidates].map(([root, via]) => ({ root, via, why: 'same symbol' })),
      })
    } else if (ineligible.size > 0) {
      conflicts.push({
        node,
        reason: 'INELIGIBLE_CANDIDATE',
        detail: `${describe(node)} has only a symbol, and the only assets carrying ${node.evidence.symbol} are inactive, unranked or without a market cap; it was kept apart`,
        candidates: [...ineligible].map(([root, via]) => ({
          root,
          via,
          why: 'same symbol, but inactive, unranked or zero market cap',
        })),
      })
    }
  }
  for (const [node, into] of decisions)
    clusters.union(into, node, 'symbol_only', METHOD_CONFIDENCE.symbolOnly)
}

/** Joins a group of nodes sharing a key, unless that would give one asset two ids of one catalog. */
function mergeGroup(
  clustering: Clustering,
  holders: readonly Node[],
  level: Level,
  confidence: number,
  ambiguity: { reason: ConflictReason; why: string },
): void {
  const { clusters } = clustering
  let roots = distinctRoots(clusters, holders)
  if (roots.length < 2) return
  if (!clusters.allCompatible(roots)) {
    // Several assets of one catalog share the key: drop the ones that are inactive, unranked or
    // without a market cap (copies, dead coins), and decide among the rest.
    const eligibleHolders = holders.filter((n) => !n.catalog || n.eligible)
    roots = distinctRoots(clusters, eligibleHolders)
    if (roots.length < 2) return
    if (!clusters.allCompatible(roots)) {
      reportClash(clustering, holders, roots, ambiguity)
      return
    }
    holders = eligibleHolders
  }
  const [first, ...rest] = holders
  for (const node of rest) clusters.union(first!, node, level, confidence)
}

/**
 * The clusters holding an id of a catalog another cluster also holds are the candidates; every other
 * cluster of the group is kept apart and reported against them.
 */
function reportClash(
  { clusters, conflicts }: Clustering,
  holders: readonly Node[],
  roots: readonly Node[],
  ambiguity: { reason: ConflictReason; why: string },
): void {
  const sourcesPerRoot = roots.map((r) => clusters.catalogSources(r))
  const clashing = new Set<string>()
  sourcesPerRoot.forEach((sources, i) =>
    sources.forEach((s) => {
      if (sourcesPerRoot.some((other, j) => j !== i && other.has(s))) clashing.add(s)
    }),
  )
  const candidateRoots = roots.filter((r) => [...clashing].some((s) => clusters.catalogSources(r).has(s)))
  for (const root of roots) {
    if (candidateRoots.includes(root)) continue
    const node = holders.find((h) => clusters.find(h) === root)!
    conflicts.push({
      node,
      reason: ambiguity.reason,
      detail: `${describe(node)} matches ${candidateRoots.length} assets by ${ambiguity.why}; it was kept apart`,
      candidates: candidateRoots.map((candidate) => ({
        root: candidate,
        via: holders.find((h) => clusters.find(h) === candidate)!,
        why: ambiguity.why,
      })),
    })
  }
}

function distinctRoots(clusters: Clusters, holders: readonly Node[]): Node[] {
  return [...new Set(holders.map((h) => clusters.find(h)))]
}
