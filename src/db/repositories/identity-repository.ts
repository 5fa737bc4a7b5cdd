import type { Insertable, Kysely, Selectable } from 'kysely'
import type {
  AliasMethod,
  AssetAliasTable,
  AssetConflictTable,
  AssetRemapTable,
  Database,
  NewRejection,
  RecordRow,
  SourceAssetRow,
  SourceAssetTable,
} from '../schema.js'

const CHUNK = 500

export type SourceAssetInput = Omit<SourceAssetTable, 'firstSeenAt' | 'updatedAt'>
export type AliasRow = Selectable<AssetAliasTable>

/** Alias and evidence age of each given source id that has an alias. */
export async function findAliasesWithEvidence(
  db: Kysely<Database>,
  source: string,
  sourceAssetIds: readonly string[],
): Promise<Map<string, { assetId: string; evidenceUpdatedAt: string | null }>> {
  const found = new Map<string, { assetId: string; evidenceUpdatedAt: string | null }>()
  for (let i = 0; i < sourceAssetIds.length; i += CHUNK) {
    const rows = await db
      .selectFrom('assetAliases as a')
      .leftJoin('sourceAssets as s', (j) =>
        j.onRef('s.source', '=', 'a.source').onRef('s.sourceAssetId', '=', 'a.sourceAssetId'),
      )
      .select(['a.sourceAssetId', 'a.assetId', 's.updatedAt'])
      .where('a.source', '=', source)
      .where('a.sourceAssetId', 'in', sourceAssetIds.slice(i, i + CHUNK))
      .execute()
    for (const r of rows) found.set(r.sourceAssetId, { assetId: r.assetId, evidenceUpdatedAt: r.updatedAt })
  }
  return found
}

/** Inserts or refreshes evidence; `firstSeenAt` stays as first written. */
export async function upsertSourceAssets(
  db: Kysely<Database>,
  rows: readonly SourceAssetInput[],
  now: string,
): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('sourceAssets')
      .values(rows.slice(i, i + CHUNK).map((r) => ({ ...r, firstSeenAt: now, updatedAt: now })))
      .onConflict((oc) =>
        oc.columns(['source', 'sourceAssetId']).doUpdateSet((eb) => ({
          symbol: eb.ref('excluded.symbol'),
          name: eb.ref('excluded.name'),
          rank: eb.ref('excluded.rank'),
          marketCapUsd: eb.ref('excluded.marketCapUsd'),
          priceUsd: eb.ref('excluded.priceUsd'),
          observedAt: eb.ref('excluded.observedAt'),
          active: eb.ref('excluded.active'),
          updatedAt: eb.ref('excluded.updatedAt'),
        })),
      )
      .execute()
  }
}

export function listSourceAssets(db: Kysely<Database>): Promise<SourceAssetRow[]> {
  return db.selectFrom('sourceAssets').selectAll().execute()
}

export function findSourceAsset(
  db: Kysely<Database>,
  source: string,
  sourceAssetId: string,
): Promise<SourceAssetRow | undefined> {
  return db
    .selectFrom('sourceAssets')
    .selectAll()
    .where('source', '=', source)
    .where('sourceAssetId', '=', sourceAssetId)
    .executeTakeFirst()
}

/** Contracts of the source assets coinpipe has seen (the cached coins list holds many more). */
export function listKnownContracts(
  db: Kysely<Database>,
): Promise<{ source: string; sourceAssetId: string; platform: string; address: string }[]> {
  return db
    .selectFrom('assetContracts as c')
    .innerJoin('sourceAssets as s', (j) =>
      j.onRef('s.source', '=', 'c.source').onRef('s.sourceAssetId', '=', 'c.sourceAssetId'),
    )
    .select(['c.source', 'c.sourceAssetId', 'c.platform', 'c.address'])
    .execute()
}

/** Replaces every contract of the given source assets with `contracts`. */
export async function replaceContracts(
  db: Kysely<Database>,
  source: string,
  contracts: readonly { sourceAssetId: string; platform: string; address: string }[],
  sourceAssetIds: readonly string[],
  now: string,
): Promise<void> {
  for (let i = 0; i < sourceAssetIds.length; i += CHUNK) {
    await db
      .deleteFrom('assetContracts')
      .where('source', '=', source)
      .where('sourceAssetId', 'in', sourceAssetIds.slice(i, i + CHUNK))
      .execute()
  }
  const unique = new Map(contracts.map((c) => [`${c.sourceAssetId}\u0000${c.platform}\u0000${c.address}`, c]))
  const rows = [...unique.values()].map((c) => ({ ...c, source, fetchedAt: now }))
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('assetContracts')
      .values(rows.slice(i, i + CHUNK))
      .execute()
  }
}

export async function findFetch(db: Kysely<Database>, key: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('identityFetches')
    .select('fetchedAt')
    .where('key', '=', key)
    .executeTakeFirst()
  return row?.fetchedAt
}

export async function findFetchedKeys(db: Kysely<Database>, keys: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>()
  for (let i = 0; i < keys.length; i += CHUNK) {
    const rows = await db
      .selectFrom('identityFetches')
      .select('key')
      .where('key', 'in', keys.slice(i, i + CHUNK))
      .execute()
    for (const r of rows) found.add(r.key)
  }
  return found
}

export async function saveFetch(
  db: Kysely<Database>,
  key: string,
  outcome: string,
  now: string,
): Promise<void> {
  await db
    .insertInto('identityFetches')
    .values({ key, fetchedAt: now, outcome })
    .onConflict((oc) => oc.column('key').doUpdateSet({ fetchedAt: now, outcome }))
    .execute()
}

export function listAliases(db: Kysely<Database>): Promise<AliasRow[]> {
  return db.selectFrom('assetAliases').selectAll().execute()
}

export async function insertAliases(
  db: Kysely<Database>,
  rows: readonly Insertable<AssetAliasTable>[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('assetAliases')
      .values(rows.slice(i, i + CHUNK))
      .execute()
  }
}

export async function updateAlias(
  db: Kysely<Database>,
  alias: { source: string; sourceAssetId: string; assetId: string; method: AliasMethod; confidence: number },
): Promise<void> {
  await db
    .updateTable('assetAliases')
    .set({ assetId: alias.assetId, method: alias.method, confidence: alias.confidence })
    .where('source', '=', alias.source)
    .where('sourceAssetId', '=', alias.sourceAssetId)
    .execute()
}

export async function insertAssets(
  db: Kysely<Database>,
  rows: readonly { id: string; symbol: string; name: string; createdAt: string }[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('assets')
      .values(rows.slice(i, i + CHUNK))
      .execute()
  }
}

export async function updateAssetLabel(
  db: Kysely<Database>,
  asset: { id: string; symbol: string; name: string },
): Promise<void> {
  await db
    .updateTable('assets')
    .set({ symbol: asset.symbol, name: asset.name })
    .where('id', '=', asset.id)
    .execute()
}

/** Deletes the given assets that no alias and no record points at any more; returns those deleted. */
export async function deleteUnusedAssets(db: Kysely<Database>, ids: readonly string[]): Promise<string[]> {
  const deleted: string[] = []
  for (const id of ids) {
    const result = await db
      .deleteFrom('assets')
      .where('id', '=', id)
      .where((eb) =>
        eb.and([
          eb.not(eb.exists(eb.selectFrom('assetAliases').select('assetId').where('assetId', '=', id))),
          eb.not(eb.exists(eb.selectFrom('records').select('assetId').where('assetId', '=', id))),
        ]),
      )
      .executeTakeFirst()
    if (Number(result.numDeletedRows) > 0) deleted.push(id)
  }
  return deleted
}

/**
 * Moves a source asset's records from `fromAssetId`, where its alias put them, to `toAssetId`;
 * returns how many moved. The natural key's leading `asset_id` finds them.
 */
export async function moveSourceAssetRecords(
  db: Kysely<Database>,
  ref: { source: string; sourceAssetId: string },
  fromAssetId: string,
  toAssetId: string,
): Promise<number> {
  const result = await db
    .updateTable('records')
    .set({ assetId: toAssetId })
    .where('assetId', '=', fromAssetId)
    .where('source', '=', ref.source)
    .where('sourceAssetId', '=', ref.sourceAssetId)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/**
 * Records of `ref` (sitting at `fromAssetId`) whose key is already taken at `toAssetId` (by another
 * source id of the same source): each moving record with the record it would meet, so the caller
 * can drop true duplicates and keep the rest.
 */
export async function findRecordCollisions(
  db: Kysely<Database>,
  ref: { source: string; sourceAssetId: string },
  fromAssetId: string,
  toAssetId: string,
): Promise<{ moving: RecordRow; kept: RecordRow }[]> {
  const pairs = await db
    .selectFrom('records as m')
    .innerJoin('records as t', (j) =>
      j
        .onRef('t.source', '=', 'm.source')
        .onRef('t.observedAt', '=', 'm.observedAt')
        .on('t.assetId', '=', toAssetId),
    )
    .select(['m.id as movingId', 't.id as keptId'])
    .where('m.assetId', '=', fromAssetId)
    .where('m.source', '=', ref.source)
    .where('m.sourceAssetId', '=', ref.sourceAssetId)
    .execute()
  if (pairs.length === 0) return []
  const ids = pairs.flatMap((p) => [Number(p.movingId), Number(p.keptId)])
  const rows = new Map<number, RecordRow>()
  for (let i = 0; i < ids.length; i += CHUNK) {
    for (const row of await db
      .selectFrom('records')
      .selectAll()
      .where('id', 'in', ids.slice(i, i + CHUNK))
      .execute())
      rows.set(Number(row.id), row)
  }
  return pairs.map((p) => ({ moving: rows.get(Number(p.movingId))!, kept: rows.get(Number(p.keptId))! }))
}

export async function deleteRecords(db: Kysely<Database>, ids: readonly number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    await db
      .deleteFrom('records')
      .where('id', 'in', ids.slice(i, i + CHUNK))
      .execute()
  }
}

export async function insertRejectionRows(
  db: Kysely<Database>,
  rows: readonly NewRejection[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK)
    await db
      .insertInto('rejections')
      .values(rows.slice(i, i + CHUNK))
      .execute()
}

/**
 * Makes the conflict table hold exactly `rows`: a conflict still present keeps its id and its
 * first `detectedAt` (so API cursors and "first seen" stay stable), with its detail brought up to
 * date; gone ones are deleted; new ones inserted.
 */
export async function syncConflicts(
  db: Kysely<Database>,
  rows: readonly Insertable<AssetConflictTable>[],
): Promise<void> {
  const keyOf = (c: { source: string; sourceAssetId: string; reason: string }) =>
    `${c.source}\u0000${c.sourceAssetId}\u0000${c.reason}`
  const existing = new Map(
    (await db.selectFrom('assetConflicts').selectAll().execute()).map((c) => [keyOf(c), c]),
  )
  const fresh: (typeof rows)[number][] = []
  for (const row of rows) {
    const old = existing.get(keyOf(row))
    existing.delete(keyOf(row))
    if (!old) {
      fresh.push(row)
    } else if (
      old.assetId !== row.assetId ||
      old.detail !== row.detail ||
      old.candidates !== row.candidates ||
      old.symbol !== row.symbol ||
      old.name !== row.name
    ) {
      await db
        .updateTable('assetConflicts')
        .set({
          assetId: row.assetId,
          detail: row.detail,
          candidates: row.candidates,
          symbol: row.symbol,
          name: row.name,
        })
        .where('id', '=', old.id)
        .execute()
    }
  }
  const gone = [...existing.values()].map((c) => c.id)
  for (let i = 0; i < gone.length; i += CHUNK) {
    await db
      .deleteFrom('assetConflicts')
      .where('id', 'in', gone.slice(i, i + CHUNK))
      .execute()
  }
  for (let i = 0; i < fresh.length; i += CHUNK) {
    await db
      .insertInto('assetConflicts')
      .values(fresh.slice(i, i + CHUNK))
      .execute()
  }
}

export async function insertRemaps(
  db: Kysely<Database>,
  rows: readonly Insertable<AssetRemapTable>[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await db
      .insertInto('assetRemaps')
      .values(rows.slice(i, i + CHUNK))
      .execute()
  }
}

/**
 * A value that changes whenever identity evidence does: a remap (the generation), a source asset
 * first seen, or evidence refreshed. Equal values mean nothing that decides identity changed.
 */
export async function getEvidenceVersion(db: Kysely<Database>): Promise<string> {
  const row = await db
    .selectFrom('sourceAssets')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('count'),
      eb.fn.max('updatedAt').as('latest'),
      eb.selectFrom('identityState').select('generation').where('id', '=', 1).as('generation'),
    ])
    .executeTakeFirstOrThrow()
  return `${row.generation}:${row.count}:${row.latest}`
}

export async function getIdentityGeneration(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('identityState').select('generation').where('id', '=', 1).executeTakeFirst()
  return Number(row?.generation ?? 0)
}

export async function bumpIdentityGeneration(db: Kysely<Database>): Promise<void> {
  await db
    .updateTable('identityState')
    .set((eb) => ({ generation: eb('generation', '+', 1) }))
    .where('id', '=', 1)
    .execute()
}
