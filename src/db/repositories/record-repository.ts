import type { Kysely } from 'kysely'
import type { Database, RecordRow } from '../schema.js'

export interface RecordFilter {
  readonly assetId?: string
  readonly symbol?: string
  readonly source?: string
  /** Inclusive lower bound on observed_at. */
  readonly from?: string
  /** Exclusive upper bound on observed_at. */
  readonly to?: string
}

export interface RecordPageQuery extends RecordFilter {
  readonly limit: number
  readonly order: 'asc' | 'desc'
  /** Keyset position: the last row of the previous page. */
  readonly after?: { readonly observedAt: string; readonly id: number }
}

export type RecordWithSymbol = RecordRow & { symbol: string }

function filtered(db: Kysely<Database>, filter: RecordFilter) {
  let query = db.selectFrom('records')
  if (filter.assetId !== undefined) query = query.where('records.assetId', '=', filter.assetId)
  if (filter.symbol !== undefined) {
    const symbol = filter.symbol
    query = query.where('records.assetId', 'in', (eb) =>
      eb.selectFrom('assets').select('assets.id').where('assets.symbol', '=', symbol),
    )
  }
  if (filter.source !== undefined) query = query.where('records.source', '=', filter.source)
  if (filter.from !== undefined) query = query.where('records.observedAt', '>=', filter.from)
  if (filter.to !== undefined) query = query.where('records.observedAt', '<', filter.to)
  return query
}

/** One keyset page ordered by (observed_at, id); the cost does not grow with the page's depth. */
export function listRecords(db: Kysely<Database>, query: RecordPageQuery): Promise<RecordWithSymbol[]> {
  let q = filtered(db, query)
    .innerJoin('assets', 'assets.id', 'records.assetId')
    .selectAll('records')
    .select('assets.symbol')
    .orderBy('records.observedAt', query.order)
    .orderBy('records.id', query.order)
    .limit(query.limit)
  if (query.after) {
    const { observedAt, id } = query.after
    q = q.where((eb) =>
      eb(
        eb.refTuple('records.observedAt', 'records.id'),
        query.order === 'desc' ? '<' : '>',
        eb.tuple(observedAt, id),
      ),
    )
  }
  return q.execute()
}

export async function countRecords(db: Kysely<Database>, filter: RecordFilter): Promise<number> {
  const row = await filtered(db, filter)
    .select((eb) => eb.fn.countAll<number | string>().as('total'))
    .executeTakeFirstOrThrow()
  return Number(row.total)
}

export function findRecord(db: Kysely<Database>, id: number): Promise<RecordWithSymbol | undefined> {
  return db
    .selectFrom('records')
    .innerJoin('assets', 'assets.id', 'records.assetId')
    .selectAll('records')
    .select('assets.symbol')
    .where('records.id', '=', id)
    .executeTakeFirst()
}

export function findRecordByKey(
  db: Kysely<Database>,
  key: { assetId: string; source: string; observedAt: string },
): Promise<RecordWithSymbol | undefined> {
  return db
    .selectFrom('records')
    .innerJoin('assets', 'assets.id', 'records.assetId')
    .selectAll('records')
    .select('assets.symbol')
    .where('records.assetId', '=', key.assetId)
    .where('records.source', '=', key.source)
    .where('records.observedAt', '=', key.observedAt)
    .executeTakeFirst()
}
