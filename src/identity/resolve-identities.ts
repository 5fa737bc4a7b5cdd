import type {
  SourceAssetEvidence,
  AssetOverride,
  ResolveOptions,
  Assignment,
  ResolvedAsset,
  ConflictReason,
  IdentityConflict,
  Resolution,
} from './identity-evidence.js'
import {
  addPartner,
  Clusters,
  compare,
  describe,
  groupBy,
  priceDifferencePct,
  round,
  type Level,
  type Node,
} from './identity-clusters.js'
import { normalizeName, slugify, sourceAssetKey } from './identity-keys.js'

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

export const METHOD_CONFIDENCE = {
  override: 1,
  contract: 0.95,
  symbol_name: 0.9,
  symbolOnly: 0.5,
  symbol_price: 0.75,
  new: 1,
} as const

interface ClusterConflict {
  readonly node: Node
  readonly reason: ConflictReason
  readonly detail: string
  readonly candidates: readonly { readonly root: Node; readonly via: Node; readonly why: string }[]
}

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
  const priority = (source: string) => {
    const index = options.catalogSources.indexOf(source)
    return index === -1 ? options.catalogSources.length : index
  }
  const nodes = new Map<string, Node>()
  for (const e of evidence) {
    const key = sourceAssetKey(e)
    const catalog = options.catalogSources.includes(e.source)
    nodes.set(key, {
      evidence: e,
      key,
      order: `${String(priority(e.source)).padStart(3, '0')}\u0000${e.source}\u0000${e.sourceAssetId}`,
      catalog,
      eligible: !catalog || (e.active && e.rank !== null && e.marketCapUsd !== null),
    })
  }
  const sorted = [...nodes.values()].sort((a, b) => compare(a.order, b.order))
  const clusters = new Clusters(sorted)
  const conflicts: ClusterConflict[] = []
  const pins = new Map<Node, string>()

  // 1. Overrides: reviewed, so they win; a clash between two of them is reported, not resolved.
  for (const override of overrides) {
    const members = override.members
      .map((m) => nodes.get(sourceAssetKey(m)))
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

  // 2. Contracts: the same address on the same platform, across sources.
  const byContract = groupBy(sorted, (n) =>
    n.evidence.contracts.map((c) => `${c.platform}\u0000${c.address}`),
  )
  for (const [contract, holders] of byContract) {
    mergeGroup(holders, 'contract', METHOD_CONFIDENCE.contract, {
      reason: 'AMBIGUOUS_CONTRACT',
      why: `same contract ${contract.replace('\u0000', ' ')}`,
    })
  }

  // 3. Symbol and normalized name.
  const byName = groupBy(
    sorted.filter((n) => n.evidence.name !== null),
    (n) => [`${n.evidence.symbol}\u0000${normalizeName(n.evidence.name!)}`],
  )
  for (const holders of byName.values()) {
    mergeGroup(holders, 'symbol_name', METHOD_CONFIDENCE.symbol_name, {
      reason: 'AMBIGUOUS_NAME',
      why: 'same symbol and name',
    })
  }

  // 4. Symbol and agreeing prices observed together; only between eligible, compatible assets, and
  // only when each is the other's one agreeing partner.
  const bySymbol = groupBy(sorted, (n) => [n.evidence.symbol])
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

  // 5. A row with only a symbol joins the one eligible asset carrying it; never a guess among several.
  const decisions: [Node, Node][] = []
  for (const node of sorted) {
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

  return finish()

  function mergeGroup(
    holders: readonly Node[],
    level: Level,
    confidence: number,
    ambiguity: { reason: ConflictReason; why: string },
  ): void {
    let roots = distinctRoots(holders)
    if (roots.length < 2) return
    if (!clusters.allCompatible(roots)) {
      // Several assets of one catalog share the key: drop the ones that are inactive, unranked or
      // without a market cap (copies, dead coins), and decide among the rest.
      const eligibleHolders = holders.filter((n) => !n.catalog || n.eligible)
      roots = distinctRoots(eligibleHolders)
      if (roots.length < 2) return
      if (!clusters.allCompatible(roots)) {
        reportClash(holders, roots, ambiguity)
        return
      }
      holders = eligibleHolders
    }
    const [first, ...rest] = holders
    for (const node of rest) clusters.union(first!, node, level, confidence)
  }

  function reportClash(
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

  function distinctRoots(holders: readonly Node[]): Node[] {
    return [...new Set(holders.map((h) => clusters.find(h)))]
  }

  function finish(): Resolution {
    const members = new Map<Node, Node[]>()
    for (const node of sorted) {
      const root = clusters.find(node)
      const list = members.get(root)
      if (list) list.push(node)
      else members.set(root, [node])
    }
    // Ids: pinned ones first, then a slug of the anchor's name, in anchor order; suffixed when taken.
    const ids = new Map<Node, string>()
    const taken = new Set<string>()
    const roots = [...members.keys()].sort((a, b) => compare(anchorOf(a).order, anchorOf(b).order))
    for (const root of roots) {
      const pin = pins.get(root)
      if (pin !== undefined && !taken.has(pin)) {
        ids.set(root, pin)
        taken.add(pin)
      }
    }
    // A coin whose own id is its name's slug (CoinGecko's `bitcoin`) keeps that slug when a later
    // namesake arrives; otherwise anchors take slugs in order.
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

    const assets = new Map<string, ResolvedAsset>()
    const assignments = new Map<string, Assignment>()
    for (const [root, list] of members) {
      const anchor = anchorOf(root)
      const id = ids.get(root)!
      assets.set(id, {
        id,
        symbol: anchor.evidence.symbol,
        name: anchor.evidence.name ?? anchor.evidence.symbol,
      })
      for (const node of list) {
        const link = node === anchor ? undefined : node.link
        const assignment: Assignment = link
          ? {
              assetId: id,
              method: link.level === 'symbol_only' ? 'symbol_name' : link.level,
              confidence: link.confidence,
            }
          : node.overridden
            ? { assetId: id, method: 'override', confidence: METHOD_CONFIDENCE.override }
            : { assetId: id, method: 'new', confidence: METHOD_CONFIDENCE.new }
        assignments.set(node.key, assignment)
      }
    }
    const assetOf = (node: Node) => ids.get(clusters.find(node))!
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
        assetId: assetOf(c.node),
        reason: c.reason,
        detail: c.detail,
        candidates: c.candidates
          .map((candidate) => ({
            assetId: assetOf(candidate.root),
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
    return { assignments, assets, conflicts: reported }

    function anchorOf(root: Node): Node {
      return members.get(root)![0]!
    }
  }
}
