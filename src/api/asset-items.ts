import { Type, type Static } from 'typebox'
import type { AssetRow } from '../db/repositories/asset-repository.js'
import type { AliasRow } from '../db/repositories/identity-repository.js'
import type { AliasMethod } from '../db/schema.js'
import { StringEnum } from './schemas.js'

// An asset as the asset routes answer it: the list, the divergence ranking and the detail page.

// A record of every key, so adding a method without listing it here fails to compile.
const ALIAS_METHODS = Object.keys({
  override: 1,
  contract: 1,
  id: 1,
  symbol_name: 1,
  symbol_price: 1,
  new: 1,
} satisfies Record<AliasMethod, 1>) as AliasMethod[]

export const AliasItem = Type.Object({
  source: Type.String(),
  source_asset_id: Type.String({ description: "the source's own id for the asset" }),
  method: StringEnum(ALIAS_METHODS, { description: 'the evidence that mapped it' }),
  confidence: Type.Number({ description: '0–1' }),
})

export const AssetItem = Type.Object({
  id: Type.String({ description: 'canonical asset id, a stable slug' }),
  symbol: Type.String(),
  name: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  aliases: Type.Array(AliasItem),
})

export function toAssetItem(asset: AssetRow, aliases: readonly AliasRow[]): Static<typeof AssetItem> {
  return {
    id: asset.id,
    symbol: asset.symbol,
    name: asset.name,
    created_at: asset.createdAt,
    aliases: aliases.map((a) => ({
      source: a.source,
      source_asset_id: a.sourceAssetId,
      method: a.method,
      confidence: Number(a.confidence),
    })),
  }
}

/** Aliases by the asset they belong to. */
export function groupByAsset(aliases: readonly AliasRow[]): Map<string, AliasRow[]> {
  const byAsset = new Map<string, AliasRow[]>()
  for (const alias of aliases) {
    const list = byAsset.get(alias.assetId)
    if (list) list.push(alias)
    else byAsset.set(alias.assetId, [alias])
  }
  return byAsset
}
