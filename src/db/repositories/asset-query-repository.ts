import { sql, type Kysely } from 'kysely'
import type { AssetConflictRow, Database, RecordRow } from '../schema.js'
import type { AssetRow } from './asset-repository.js'
import type { AliasRow } from './identity-repository.js'

// Reads behind `GET /api/v1/assets…`, one query each; one asset by id is `findAsset` (asset-repository.ts).

export interface AssetFilter {
  /** Case-insensitive substring of the id, the symbol or the name; `%` and `_` match themselves. */
  readonly text?: string
  /** Exact, as stored (upper-case). */
  readonly symbol?: string
  /** Keyset: assets whose id sorts after this one. */
  readonly afterId?: string
  readonly limit: number
}

/** One keyset page of assets by id ascending. */
export function listAssets(db: Kysely<Database>, filter: AssetFilter): Promise<AssetRow[]> {
  let query = db.selectFrom('assets').selectAll().orderBy('id').limit(filter.limit)
  if (filter.text !== undefined) {
    const pattern = `%${escapeLike(filter.text.toLowerCase())}%`
    // lower() … LIKE with an explicit escape reads the same on SQLite and PostgreSQL.
    const like = (column: 'id' | 'symbol' | 'name') =>
      sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`
    query = query.where((eb) => eb.or([like('id'), like('symbol'), like('name')]))
  }
  if (filter.symbol !== undefined) query = query.where('symbol', '=', filter.symbol)
  if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId)
  return query.execute()
}

/** A source's price of an asset at one time, as the cross-source comparison reads it. */
export interface AssetQuote {
  readonly assetId: string
  readonly source: string
  readonly observedAt: string
  readonly priceUsd: number | null
}

/** When the newest record of any source was observed (ISO), or undefined with no records. */
export async function findNewestObservation(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db
    .selectFrom('records')
    .select((eb) => eb.fn.max('observedAt').as('newest'))
    .executeTakeFirst()
  return row?.newest ?? undefined
}

/**
 * Each source's newest price of each asset among the records observed at or after `sinceIso` (a
 * range scan of the time index), by asset then source.
 */
export async function listLatestQuotesSince(db: Kysely<Database>, sinceIso: string): Promise<AssetQuote[]> {
  const rows = await db
    .selectFrom('records')
    .select(['assetId', 'source', 'observedAt', 'priceUsd'])
    .where('observedAt', '>=', sinceIso)
    .execute()
  const latest = new Map<string, AssetQuote>()
  for (const row of rows) {
    const key = `${row.assetId}\u0000${row.source}`
    const seen = latest.get(key)
    if (!seen || seen.observedAt < row.observedAt) latest.set(key, row)
  }
  return [...latest.values()].sort((a, b) => compare(a.assetId, b.assetId) || compare(a.source, b.source))
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The assets with these ids, in no particular order; ids that name no asset are left out. */
export function findAssets(db: Kysely<Database>, ids: readonly string[]): Promise<AssetRow[]> {
  if (ids.length === 0) return Promise.resolve([])
  return db.selectFrom('assets').selectAll().where('id', 'in', ids).execute()
}

/** Every alias of the given assets, by asset, then source and source id. */
export function listAliasesOfAssets(db: Kysely<Database>, assetIds: readonly string[]): Promise<AliasRow[]> {
  if (assetIds.length === 0) return Promise.resolve([])
  return db
    .selectFrom('assetAliases')
    .selectAll()
    .where('assetId', 'in', assetIds)
    .orderBy('assetId')
    .orderBy('source')
    .orderBy('sourceAssetId')
    .execute()
}

/**
 * The newest record of each source for one asset, by source. Both halves read the natural-key index
 * (asset_id, observed_at, source): the newest time per source, then the one record at that key.
 */
export function listLatestRecordsPerSource(db: Kysely<Database>, assetId: string): Promise<RecordRow[]> {
  return (
    db
      .selectFrom('records as r')
      .innerJoin(
        (eb) =>
          eb
            .selectFrom('records')
            .select(['source', (e) => e.fn.max('observedAt').as('latestAt')])
            .where('assetId', '=', assetId)
            .groupBy('source')
            .as('m'),
        (join) => join.onRef('m.source', '=', 'r.source').onRef('m.latestAt', '=', 'r.observedAt'),
      )
      // All columns: CamelCasePlugin would name `volume24hUsd` volume24h_usd, not the volume_24h_usd it is.
      .selectAll('r')
      .where('r.assetId', '=', assetId)
      .orderBy('r.source')
      .execute()
  )
}

/** Where remaps moved the aliases of `assetId`, most recent move first. */
export async function findRemapTargets(db: Kysely<Database>, assetId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('assetRemaps')
    .select(['toAssetId', (eb) => eb.fn.max('id').as('lastMove')])
    .where('fromAssetId', '=', assetId)
    .groupBy('toAssetId')
    .orderBy('lastMove', 'desc')
    .execute()
  return rows.map((r) => r.toAssetId)
}

export interface ConflictFilter {
  readonly source?: string
  readonly reason?: string
  /** Keyset: conflicts with a larger id than this. */
  readonly afterId?: number
  readonly limit: number
}

/** One keyset page of the current identity conflicts, in the order the resolver reported them. */
export function listAssetConflicts(
  db: Kysely<Database>,
  filter: ConflictFilter,
): Promise<AssetConflictRow[]> {
  let query = db.selectFrom('assetConflicts').selectAll().orderBy('id').limit(filter.limit)
  if (filter.source !== undefined) query = query.where('source', '=', filter.source)
  if (filter.reason !== undefined) query = query.where('reason', '=', filter.reason)
  if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId)
  return query.execute()
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`)
}
