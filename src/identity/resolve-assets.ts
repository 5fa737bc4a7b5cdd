import type { Db } from '../db/database.js'
import {
  findAliasesWithEvidence,
  getIdentityGeneration,
  upsertSourceAssets,
  type SourceAssetInput,
} from '../db/repositories/identity-repository.js'
import type { MarketValues } from '../domain/record.js'
import type { SourceAssetRef } from '../sources/source.js'
import { normalizeSymbol } from './identity-keys.js'
import type { IdentitySettings } from './identity-settings.js'
import { remapAssets } from './remap-assets.js'

/**
 * Source asset id → canonical asset id, valid for one identity generation: when any alias moves
 * (in this process or another), the generation changes and the cache starts over. It also knows
 * when each asset's evidence was last refreshed, so a cached asset is looked at again hourly.
 */
export class AssetCache extends Map<string, string> {
  generation = -1
  /** When each cached source asset's evidence was last written (ISO), or null when never. */
  readonly evidenceAt = new Map<string, string | null>()

  override clear(): void {
    super.clear()
    this.evidenceAt.clear()
  }
}

const sharedCaches = new WeakMap<Db, Map<string, AssetCache>>()

/**
 * The cache a source's runs share for the life of the process: a steady cycle then resolves its
 * thousands of known assets without a query (the generation check stays, once per batch).
 */
export function assetCacheOf(db: Db, source: string): AssetCache {
  let bySource = sharedCaches.get(db)
  if (bySource === undefined) sharedCaches.set(db, (bySource = new Map<string, AssetCache>()))
  let cache = bySource.get(source)
  if (cache === undefined) bySource.set(source, (cache = new AssetCache()))
  return cache
}

/** One source asset as a batch shows it: the evidence its rows carry. */
export interface ObservedAsset extends Partial<Pick<MarketValues, 'priceUsd' | 'rank' | 'marketCapUsd'>> {
  readonly asset: SourceAssetRef
  readonly observedAt?: string
}

/** Evidence older than this is refreshed from the batch that shows the asset again. */
const EVIDENCE_REFRESH_MS = 60 * 60 * 1000

/**
 * Resolves each source asset of a batch to its canonical asset id (filling `cache`, and returning
 * the identity generation the ids belong to), through the same resolver for
 * every source. Known aliases come from the cache or one query. Their evidence (symbol, name,
 * rank, price) is refreshed at most hourly. Source assets never seen before are recorded as evidence,
 * and then the whole mapping is re-resolved and applied (`remapAssets`). So the mapping after any
 * sequence of batches is the one all the evidence gives, whichever source ran first.
 */
export async function resolveAssets(
  db: Db,
  settings: IdentitySettings,
  source: string,
  observed: readonly ObservedAsset[],
  cache: AssetCache,
  opts: { now: string; trigger: string },
): Promise<number> {
  const generation = await getIdentityGeneration(db.kysely)
  if (cache.generation !== generation) {
    cache.clear()
    cache.generation = generation
  }
  const staleBefore = new Date(Date.parse(opts.now) - EVIDENCE_REFRESH_MS).toISOString()
  const latest = new Map<string, ObservedAsset>()
  for (const o of observed) {
    const id = o.asset.sourceAssetId
    if (cache.has(id) && (cache.evidenceAt.get(id) ?? '') >= staleBefore) continue
    const seen = latest.get(id)
    if (!seen || (o.observedAt ?? '') >= (seen.observedAt ?? '')) latest.set(id, o)
  }
  if (latest.size === 0) return generation

  const uncached = [...latest.keys()].filter((id) => !cache.has(id))
  const known =
    uncached.length === 0
      ? new Map<string, { assetId: string; evidenceUpdatedAt: string | null }>()
      : await findAliasesWithEvidence(db.kysely, source, uncached)
  const refresh: SourceAssetInput[] = []
  const unknown: string[] = []
  for (const [sourceAssetId, o] of latest) {
    const alias = known.get(sourceAssetId) ?? cachedAlias(cache, sourceAssetId)
    if (alias) {
      cache.set(sourceAssetId, alias.assetId)
      cache.evidenceAt.set(sourceAssetId, alias.evidenceUpdatedAt)
    } else unknown.push(sourceAssetId)
    if (!alias || alias.evidenceUpdatedAt === null || alias.evidenceUpdatedAt < staleBefore) {
      refresh.push(toEvidence(source, o))
      if (alias) cache.evidenceAt.set(sourceAssetId, opts.now)
    }
  }
  await upsertSourceAssets(db.kysely, refresh, opts.now)
  if (unknown.length === 0) return generation

  await remapAssets(db, settings, { trigger: opts.trigger, now: opts.now })
  // The remap may have moved aliases this run already cached: start the cache over if so.
  const after = await getIdentityGeneration(db.kysely)
  if (after !== generation) {
    cache.clear()
    cache.generation = after
  }
  const ids = after === generation ? unknown : [...new Set(observed.map((o) => o.asset.sourceAssetId))]
  const resolved = await findAliasesWithEvidence(db.kysely, source, ids)
  for (const [sourceAssetId, alias] of resolved) {
    cache.set(sourceAssetId, alias.assetId)
    cache.evidenceAt.set(sourceAssetId, alias.evidenceUpdatedAt)
  }
  return after
}

function cachedAlias(
  cache: AssetCache,
  sourceAssetId: string,
): { assetId: string; evidenceUpdatedAt: string | null } | undefined {
  const assetId = cache.get(sourceAssetId)
  return assetId === undefined
    ? undefined
    : { assetId, evidenceUpdatedAt: cache.evidenceAt.get(sourceAssetId) ?? null }
}

function toEvidence(source: string, o: ObservedAsset): SourceAssetInput {
  return {
    source,
    sourceAssetId: o.asset.sourceAssetId,
    symbol: normalizeSymbol(o.asset.symbol),
    name: o.asset.name,
    rank: o.rank ?? null,
    marketCapUsd: o.marketCapUsd ?? null,
    priceUsd: o.priceUsd ?? null,
    observedAt: o.observedAt ?? null,
    active: 1,
  }
}
