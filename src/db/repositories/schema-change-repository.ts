import type { Kysely } from 'kysely'
import type { Database, NewSchemaChange, SchemaChangeKind, SchemaChangeRow } from '../schema.js'

/**
 * Records schema changes, each at most once: a change already on record for the same source,
 * stream, field, kind and detail is not written again. Returns how many were new.
 */
export async function insertSchemaChanges(
  db: Kysely<Database>,
  changes: readonly NewSchemaChange[],
): Promise<number> {
  let inserted = 0
  for (const change of changes) {
    const known = await db
      .selectFrom('schemaChanges')
      .select('id')
      .where('source', '=', change.source)
      .where('stream', '=', change.stream)
      .where('field', '=', change.field)
      .where('change', '=', change.change)
      .where('detail', '=', change.detail)
      .executeTakeFirst()
    if (known) continue
    await db.insertInto('schemaChanges').values(change).execute()
    inserted++
  }
  return inserted
}

export interface SchemaChangeFilter {
  readonly source?: string
  readonly stream?: string
  readonly change?: SchemaChangeKind
  readonly runId?: number
  /** Keyset: rows with a smaller id than this (newest first). */
  readonly beforeId?: number
  readonly limit: number
}

export function listSchemaChanges(
  db: Kysely<Database>,
  filter: SchemaChangeFilter,
): Promise<SchemaChangeRow[]> {
  let query = db.selectFrom('schemaChanges').selectAll().orderBy('id', 'desc').limit(filter.limit)
  if (filter.source !== undefined) query = query.where('source', '=', filter.source)
  if (filter.stream !== undefined) query = query.where('stream', '=', filter.stream)
  if (filter.change !== undefined) query = query.where('change', '=', filter.change)
  if (filter.runId !== undefined) query = query.where('runId', '=', filter.runId)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  return query.execute()
}
