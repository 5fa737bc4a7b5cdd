import type { Kysely, Selectable } from 'kysely'
import type { AliasMethod, AssetTable, Database } from '../schema.js'

export type AssetRow = Selectable<AssetTable>

export async function findAliases(
  db: Kysely<Database>,
  source: string,
  sourceAssetIds: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>()
  for (let i = 0; i < sourceAssetIds.length; i += 500) {
    const rows = await db
      .selectFrom('assetAliases')
      .select(['sourceAssetId', 'assetId'])
      .where('source', '=', source)
      .where('sourceAssetId', 'in', sourceAssetIds.slice(i, i + 500))
      .execute()
    for (const row of rows) found.set(row.sourceAssetId, row.assetId)
  }
  return found
}

/**
 * `ids` as `source` names them: an id that is already one of the source's asset ids stays, a
 * canonical asset id becomes its aliases' ids on `source`, anything else stays as given.
 */
export async function sourceIdsFor(
  db: Kysely<Database>,
  source: string,
  ids: readonly string[],
): Promise<string[]> {
  if (ids.length === 0) return []
  const known = await findAliases(db, source, ids)
  const others = ids.filter((id) => !known.has(id))
  const aliases =
    others.length === 0
      ? []
      : await db
          .selectFrom('assetAliases')
          .select(['assetId', 'sourceAssetId'])
          .where('source', '=', source)
          .where('assetId', 'in', others)
          .orderBy('sourceAssetId')
          .execute()
  return [
    ...new Set(
      ids.flatMap((id) => {
        if (known.has(id)) return [id]
        const mapped = aliases.filter((a) => a.assetId === id).map((a) => a.sourceAssetId)
        return mapped.length > 0 ? mapped : [id]
      }),
    ),
  ]
}

export function findAssetsBySymbol(db: Kysely<Database>, symbol: string): Promise<AssetRow[]> {
  return db.selectFrom('assets').selectAll().where('symbol', '=', symbol).orderBy('id').execute()
}

export function findAsset(db: Kysely<Database>, id: string): Promise<AssetRow | undefined> {
  return db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findAssetIdsLike(db: Kysely<Database>, prefix: string): Promise<string[]> {
  const rows = await db.selectFrom('assets').select('id').where('id', 'like', `${prefix}%`).execute()
  return rows.map((r) => r.id)
}

export async function insertAsset(
  db: Kysely<Database>,
  asset: { id: string; symbol: string; name: string; createdAt: string },
): Promise<void> {
  await db
    .insertInto('assets')
    .values(asset)
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
}

/** Adds an alias unless the source id is already mapped; returns the asset it maps to now. */
export async function insertAlias(
  db: Kysely<Database>,
  alias: {
    source: string
    sourceAssetId: string
    assetId: string
    method: AliasMethod
    confidence: number
    createdAt: string
  },
): Promise<string> {
  await db
    .insertInto('assetAliases')
    .values(alias)
    .onConflict((oc) => oc.columns(['source', 'sourceAssetId']).doNothing())
    .execute()
  const row = await db
    .selectFrom('assetAliases')
    .select('assetId')
    .where('source', '=', alias.source)
    .where('sourceAssetId', '=', alias.sourceAssetId)
    .executeTakeFirstOrThrow()
  return row.assetId
}

export async function countAssets(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('assets')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
