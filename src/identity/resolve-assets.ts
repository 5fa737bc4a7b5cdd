import type { Kysely } from 'kysely'
import {
  findAliases,
  findAssetIdsLike,
  findAssetsBySymbol,
  insertAlias,
  insertAsset,
  type AssetRow,
} from '../db/repositories/asset-repository.js'
import type { AliasMethod, Database } from '../db/schema.js'
import type { SourceAssetRef } from '../sources/source.js'

/** Source asset id → canonical asset id, remembered for the length of one run. */
export type AssetCache = Map<string, string>

/**
 * Resolves each source asset to a canonical asset id, creating assets and aliases as needed.
 * Idempotent: the same inputs always land on the same ids, and every alias records how it was made.
 */
export async function resolveAssets(
  db: Kysely<Database>,
  source: string,
  refs: readonly SourceAssetRef[],
  cache: AssetCache,
  now: string,
): Promise<AssetCache> {
  const unknown = new Map<string, SourceAssetRef>()
  for (const ref of refs) if (!cache.has(ref.sourceAssetId)) unknown.set(ref.sourceAssetId, ref)
  if (unknown.size === 0) return cache

  const known = await findAliases(db, source, [...unknown.keys()])
  for (const [sourceAssetId, assetId] of known) {
    cache.set(sourceAssetId, assetId)
    unknown.delete(sourceAssetId)
  }
  for (const ref of unknown.values()) {
    const { assetId, method, confidence } = await matchOrCreate(db, ref, now)
    cache.set(
      ref.sourceAssetId,
      await insertAlias(db, {
        source,
        sourceAssetId: ref.sourceAssetId,
        assetId,
        method,
        confidence,
        createdAt: now,
      }),
    )
  }
  return cache
}

async function matchOrCreate(
  db: Kysely<Database>,
  ref: SourceAssetRef,
  now: string,
): Promise<{ assetId: string; method: AliasMethod; confidence: number }> {
  const candidates = await findAssetsBySymbol(db, ref.symbol)
  const match = pickCandidate(ref, candidates)
  if (match) return match
  const assetId = await freeAssetId(db, ref)
  await insertAsset(db, { id: assetId, symbol: ref.symbol, name: ref.name ?? ref.symbol, createdAt: now })
  return { assetId, method: 'new', confidence: 1 }
}

/** Symbol plus the same normalized name; a bare symbol only when exactly one asset carries it. */
function pickCandidate(
  ref: SourceAssetRef,
  candidates: readonly AssetRow[],
): { assetId: string; method: AliasMethod; confidence: number } | undefined {
  if (ref.name !== null) {
    const name = normalizeName(ref.name)
    const same = candidates.filter((c) => normalizeName(c.name) === name)
    return same.length === 1 ? { assetId: same[0]!.id, method: 'symbol_name', confidence: 0.9 } : undefined
  }
  return candidates.length === 1
    ? { assetId: candidates[0]!.id, method: 'symbol_name', confidence: 0.6 }
    : undefined
}

export function normalizeName(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '')
}

/** A readable, stable slug: the name, else the symbol; suffixed when taken by another asset. */
async function freeAssetId(db: Kysely<Database>, ref: SourceAssetRef): Promise<string> {
  const base = slugify(ref.name ?? ref.symbol) || slugify(ref.symbol) || 'asset'
  const taken = new Set(await findAssetIdsLike(db, base))
  if (!taken.has(base)) return base
  const withSymbol = `${base}-${slugify(ref.symbol)}`
  if (!taken.has(withSymbol)) return withSymbol
  for (let n = 2; ; n++) if (!taken.has(`${withSymbol}-${n}`)) return `${withSymbol}-${n}`
}

export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}
