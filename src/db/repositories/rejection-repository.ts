import type { Kysely } from 'kysely'
import type { Database, NewRejection, RejectionRow } from '../schema.js'

export async function insertRejections(
  db: Kysely<Database>,
  rejections: readonly NewRejection[],
): Promise<void> {
  // Chunked to stay under SQLite's bound-parameter limit.
  for (let i = 0; i < rejections.length; i += 500) {
    await db
      .insertInto('rejections')
      .values(rejections.slice(i, i + 500))
      .execute()
  }
}

export interface RejectionFilter {
  readonly runId?: number
  readonly source?: string
  readonly rawBatchId?: number
  /** Keyset: rows with a smaller id than this (newest first). */
  readonly beforeId?: number
  readonly limit: number
}

export function listRejections(db: Kysely<Database>, filter: RejectionFilter): Promise<RejectionRow[]> {
  let query = db.selectFrom('rejections').selectAll().orderBy('id', 'desc').limit(filter.limit)
  if (filter.runId !== undefined) query = query.where('runId', '=', filter.runId)
  if (filter.source !== undefined) query = query.where('source', '=', filter.source)
  if (filter.rawBatchId !== undefined) query = query.where('rawBatchId', '=', filter.rawBatchId)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  return query.execute()
}

/** How many rows a run rejected for each reason, most frequent first. */
export async function countRejectionsByReason(
  db: Kysely<Database>,
  runId: number,
): Promise<{ reasonCode: string; count: number }[]> {
  const rows = await db
    .selectFrom('rejections')
    .select(['reasonCode', (eb) => eb.fn.countAll<number | string>().as('count')])
    .where('runId', '=', runId)
    .groupBy('reasonCode')
    .orderBy((eb) => eb.fn.countAll(), 'desc')
    .orderBy('reasonCode')
    .execute()
  return rows.map((r) => ({ reasonCode: r.reasonCode, count: Number(r.count) }))
}

/** Rejected rows per source and reason, with the newest of each, most frequent first. */
export async function summarizeRejections(
  db: Kysely<Database>,
  filter: { source?: string; sinceIso?: string },
): Promise<{ source: string; reasonCode: string; count: number; lastAt: string }[]> {
  let query = db
    .selectFrom('rejections')
    .select([
      'source',
      'reasonCode',
      (eb) => eb.fn.countAll<number | string>().as('count'),
      (eb) => eb.fn.max('createdAt').as('lastAt'),
    ])
    .groupBy(['source', 'reasonCode'])
    .orderBy((eb) => eb.fn.countAll(), 'desc')
    .orderBy('source')
    .orderBy('reasonCode')
  if (filter.source !== undefined) query = query.where('source', '=', filter.source)
  if (filter.sinceIso !== undefined) query = query.where('createdAt', '>=', filter.sinceIso)
  const rows = await query.execute()
  return rows.map((r) => ({
    source: r.source,
    reasonCode: r.reasonCode,
    count: Number(r.count),
    lastAt: r.lastAt,
  }))
}
