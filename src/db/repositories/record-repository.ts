import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely'
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

/** One record with its asset's symbol and who posted it (its raw batch's `added_by`; null for ETL records). */
export type RecordWithSymbol = RecordRow & { symbol: string; addedBy: string | null }

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

/** A record as its table names its columns (snake_case), with its asset's symbol; `source_asset_id` left out. */
export interface RecordColumnsRow {
  readonly id: number
  readonly asset_id: string
  readonly symbol: string
  readonly source: string
  readonly observed_at: string
  readonly price_usd: number | null
  readonly market_cap_usd: number | null
  readonly volume_24h_usd: number | null
  readonly change_24h_pct: number | null
  readonly rank: number | null
  readonly circulating_supply: number | null
  readonly total_supply: number | null
  readonly max_supply: number | null
  readonly run_id: number | null
  readonly raw_batch_id: number | null
  readonly loaded_at: string
}

const PAGE_COLUMNS = sql.raw(
  `r.id, r.asset_id, a.symbol, r.source, r.observed_at, r.price_usd, r.market_cap_usd, r.volume_24h_usd,
   r.change_24h_pct, r.rank, r.circulating_supply, r.total_supply, r.max_supply, r.run_id, r.raw_batch_id, r.loaded_at`,
)

/** Per database: the instance without plugins, and the page statement per query shape, compiled once. */
const pageStatements = new WeakMap<
  Kysely<Database>,
  { plain: Kysely<Database>; byShape: Map<string, string> }
>()

/**
 * One keyset page ordered by (observed_at, id); the cost does not grow with the page's depth. The
 * hottest read of the API: the statement is compiled once per shape (which filters, which order)
 * and then only bound, and its rows come back with the table's column names, untouched by the
 * camelCase plugin.
 */
export async function listRecordPage(
  db: Kysely<Database>,
  query: RecordPageQuery,
): Promise<RecordColumnsRow[]> {
  let cached = pageStatements.get(db)
  if (cached === undefined)
    pageStatements.set(db, (cached = { plain: db.withoutPlugins(), byShape: new Map() }))
  // The parameters in the order the statement names them (pageStatement's order).
  const parameters: unknown[] = []
  let shape = query.order
  for (const value of [query.assetId, query.symbol, query.source, query.from, query.to]) {
    shape += value === undefined ? '-' : '+'
    if (value !== undefined) parameters.push(value)
  }
  if (query.after) {
    shape += 'after'
    parameters.push(query.after.observedAt, query.after.id)
  }
  parameters.push(query.limit)
  let text = cached.byShape.get(shape)
  if (text === undefined) cached.byShape.set(shape, (text = pageStatement(query).compile(cached.plain).sql))
  const { rows } = await cached.plain.executeQuery<RecordColumnsRow>(CompiledQuery.raw(text, parameters))
  return rows
}

/** The page statement for `query`'s shape; its parameters appear in the order listRecordPage binds them. */
function pageStatement(query: RecordPageQuery): RawBuilder<RecordColumnsRow> {
  const conditions: RawBuilder<unknown>[] = []
  if (query.assetId !== undefined) conditions.push(sql`r.asset_id = ${query.assetId}`)
  if (query.symbol !== undefined)
    conditions.push(sql`r.asset_id IN (SELECT id FROM assets WHERE symbol = ${query.symbol})`)
  if (query.source !== undefined) conditions.push(sql`r.source = ${query.source}`)
  if (query.from !== undefined) conditions.push(sql`r.observed_at >= ${query.from}`)
  if (query.to !== undefined) conditions.push(sql`r.observed_at < ${query.to}`)
  const direction = sql.raw(query.order === 'desc' ? 'DESC' : 'ASC')
  if (query.after) {
    const beyond = sql.raw(query.order === 'desc' ? '<' : '>')
    conditions.push(sql`(r.observed_at, r.id) ${beyond} (${query.after.observedAt}, ${query.after.id})`)
  }
  const where = conditions.length === 0 ? sql`` : sql`WHERE ${sql.join(conditions, sql` AND `)}`
  return sql<RecordColumnsRow>`
    SELECT ${PAGE_COLUMNS} FROM records r JOIN assets a ON a.id = r.asset_id
    ${where}
    ORDER BY r.observed_at ${direction}, r.id ${direction}
    LIMIT ${query.limit}`
}

/** When `source`'s newest record was observed, or undefined without any: one read of the (source, time) index. */
export async function findNewestObservationOf(
  db: Kysely<Database>,
  source: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('records')
    .select('observedAt')
    .where('source', '=', source)
    .orderBy('observedAt', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row?.observedAt
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
    .leftJoin('rawBatches', 'rawBatches.id', 'records.rawBatchId')
    .selectAll('records')
    .select(['assets.symbol', 'rawBatches.addedBy'])
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
    .leftJoin('rawBatches', 'rawBatches.id', 'records.rawBatchId')
    .selectAll('records')
    .select(['assets.symbol', 'rawBatches.addedBy'])
    .where('records.assetId', '=', key.assetId)
    .where('records.source', '=', key.source)
    .where('records.observedAt', '=', key.observedAt)
    .executeTakeFirst()
}
