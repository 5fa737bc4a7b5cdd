import type { Kysely } from 'kysely'
import type { SchemaChangeKind } from '../../domain/schema-change.js'
import type { Database, NewSchemaChange, SchemaChangeRow } from '../schema.js'

/**
 * Records schema changes, each at most once: a change already on record for the same source,
 * stream, field, kind and detail is not written again. Returns how many were new.
 */
export async function insertSchemaChanges(
  db: Kysely<Database>,
  changes: readonly NewSchemaChange[],
): Promise<number> {
  if (changes.length === 0) return 0
  const key = (c: Pick<NewSchemaChange, 'source' | 'stream' | 'field' | 'change' | 'detail'>) =>
    JSON.stringify([c.source, c.stream, c.field, c.change, c.detail])
  // One read for the whole batch's changes (a batch shows a handful, from one source and stream).
  const known = await db
    .selectFrom('schemaChanges')
    .select(['source', 'stream', 'field', 'change', 'detail'])
    .where('field', 'in', [...new Set(changes.map((c) => c.field))])
    .execute()
  const seen = new Set(known.map(key))
  const fresh = changes.filter((c) => {
    const k = key(c)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
  if (fresh.length > 0) await db.insertInto('schemaChanges').values(fresh).execute()
  return fresh.length
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
