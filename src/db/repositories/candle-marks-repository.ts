import { PostgresAdapter, sql, type Kysely } from 'kysely'
import type { RecordBatch } from '../../domain/record.js'
import type { Database } from '../schema.js'

// The marks of the candles' hourly rollup (`candle-hours-repository.ts`): which hours of an asset and
// source may lag the records. Writers append them to `candle_pending`; the refresher folds those into
// `candle_stale` and clears a mark once it has recomputed its hours; readers take the marked hours
// from the records.

/** An hour in seconds: the rollup's step. */
export const HOUR_S = 3_600

/** The end of time for a mark (9999-12-31T23:00Z): the hours after every record. */
export const ALL_TIME_TO_S = 253_402_297_200

/** Hours `[fromS, toS)` of an asset and source whose rollup may lag the records. */
export interface StaleHours {
  readonly assetId: string
  readonly source: string
  readonly fromS: number
  readonly toS: number
}

/** The hours a batch of records falls in, per asset: one mark per asset of the batch's source. */
export function staleHoursOf(batch: RecordBatch): StaleHours[] {
  const range = new Map<string, { first: string; last: string }>()
  const { assetIds, values } = batch
  for (let i = 0; i < values.length; i++) {
    const assetId = assetIds[i]!
    // ISO 8601 as `toISOString` prints it, so the strings sort as the times do.
    const at = values[i]!.observedAt
    const seen = range.get(assetId)
    if (!seen) range.set(assetId, { first: at, last: at })
    else if (at < seen.first) seen.first = at
    else if (at > seen.last) seen.last = at
  }
  return [...range].map(([assetId, { first, last }]) => ({
    assetId,
    source: batch.provenance.source,
    fromS: hourOf(first),
    toS: hourOf(last) + HOUR_S,
  }))
}

const hourOf = (iso: string) => Math.floor(Date.parse(iso) / 1000 / HOUR_S) * HOUR_S

/**
 * Inside `trx`, the transaction that wrote the records: appends the hours given to `candle_pending`,
 * one row per source and range with the assets that share it, so readers take those hours from the
 * records until the refresher has caught up. Appends only: no writer locks a mark, so writers never
 * wait on each other or on the refresher for one.
 */
export async function markCandleHoursStale(
  trx: Kysely<Database>,
  marks: readonly StaleHours[],
): Promise<void> {
  const ranges = new Map<string, { source: string; fromS: number; toS: number; assetIds: Set<string> }>()
  for (const { assetId, source, fromS, toS } of marks) {
    const key = `${source}\0${fromS}\0${toS}`
    const range = ranges.get(key)
    if (range) range.assetIds.add(assetId)
    else ranges.set(key, { source, fromS, toS, assetIds: new Set([assetId]) })
  }
  const rows = [...ranges.values()].map(({ assetIds, ...range }) => ({
    ...range,
    assetIds: JSON.stringify([...assetIds]),
  }))
  // Four parameters a row: well under either dialect's limit of bound parameters a statement.
  for (let i = 0; i < rows.length; i += 1000)
    await trx
      .insertInto('candlePending')
      .values(rows.slice(i, i + 1000))
      .execute()
}

/** Inside `trx`: every hour of these assets' records from `source` is stale. */
export async function markAssetsStale(
  trx: Kysely<Database>,
  assetIds: readonly string[],
  source: string,
): Promise<void> {
  await markCandleHoursStale(
    trx,
    assetIds.map((assetId) => ({ assetId, source, fromS: 0, toS: ALL_TIME_TO_S })),
  )
}

/**
 * The marks of an asset (one source's, or all) that overlap hours `[fromS, toS)`: the refresher's
 * (`candle_stale`) and the writes' not yet folded into them (`candle_pending`), in one statement.
 */
export async function staleHoursOverlapping(
  db: Kysely<Database>,
  query: { assetId: string; source?: string | undefined; fromS: number; toS: number },
): Promise<StaleHours[]> {
  const { assetId, source, fromS, toS } = query
  const ofSource = source === undefined ? sql`` : sql`AND source = ${source}`
  const listed =
    db.getExecutor().adapter instanceof PostgresAdapter
      ? sql`asset_ids::jsonb ? ${assetId}`
      : sql`EXISTS (SELECT 1 FROM json_each(asset_ids) WHERE value = ${assetId})`
  const { rows } = await sql<{ source: string; fromS: number | string; toS: number | string }>`
    SELECT source, from_s AS "fromS", to_s AS "toS" FROM candle_stale
    WHERE asset_id = ${assetId} AND from_s < ${toS} AND to_s > ${fromS} ${ofSource}
    UNION ALL
    SELECT source, from_s, to_s FROM candle_pending
    WHERE from_s < ${toS} AND to_s > ${fromS} ${ofSource} AND ${listed}`.execute(db.withoutPlugins())
  // Pending rows of one source overlap each other and the refresher's mark: merged per source, so a
  // reader takes each hour from the records once.
  const bySource = new Map<string, [number, number][]>()
  for (const r of rows) {
    const spans = bySource.get(r.source) ?? []
    spans.push([Number(r.fromS), Number(r.toS)])
    bySource.set(r.source, spans)
  }
  return [...bySource].flatMap(([source, spans]) =>
    disjointSpans(spans).map(([from, to]) => ({ assetId, source, fromS: from, toS: to })),
  )
}

/** Intervals `[from, to)` merged where they overlap or touch, in order. */
export function disjointSpans(spans: readonly (readonly [number, number])[]): [number, number][] {
  const merged: [number, number][] = []
  for (const [from, to] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = merged.at(-1)
    if (last && from <= last[1]) last[1] = Math.max(last[1], to)
    else merged.push([from, to])
  }
  return merged
}

/**
 * Inside the refresher's transaction: folds the committed pending rows (up to `PENDING_PER_FOLD` of
 * them) into `candle_stale`, one mark per asset and source widened to cover them, and deletes them.
 * A write not yet committed is not seen, and neither are its records: its rows are folded by a later
 * refresh. Returns how many rows it folded.
 */
export async function foldPendingMarks(trx: Kysely<Database>): Promise<number> {
  const pending = await trx
    .selectFrom('candlePending')
    .select(['id', 'source', 'fromS', 'toS', 'assetIds'])
    .orderBy('id')
    .limit(PENDING_PER_FOLD)
    .execute()
  if (pending.length === 0) return 0
  const marks = new Map<string, StaleHours>()
  for (const row of pending) {
    const fromS = Number(row.fromS)
    const toS = Number(row.toS)
    for (const assetId of JSON.parse(row.assetIds) as string[]) {
      const key = `${assetId}\0${row.source}`
      const mark = marks.get(key)
      marks.set(key, {
        assetId,
        source: row.source,
        fromS: mark ? Math.min(mark.fromS, fromS) : fromS,
        toS: mark ? Math.max(mark.toS, toS) : toS,
      })
    }
  }
  await upsertStaleMarks(trx, [...marks.values()])
  await trx
    .deleteFrom('candlePending')
    .where(
      'id',
      'in',
      pending.map((row) => row.id),
    )
    .execute()
  return pending.length
}

const PENDING_PER_FOLD = 500

/** Inside the refresher's transaction: widens (or adds) each asset's and source's mark to cover `marks`. */
async function upsertStaleMarks(trx: Kysely<Database>, marks: readonly StaleHours[]): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    // One statement text whatever the count, with four array parameters rather than four a mark.
    const column = <K extends keyof StaleHours>(key: K) => marks.map((m) => m[key])
    await sql`
      INSERT INTO candle_stale (asset_id, source, from_s, to_s)
      SELECT * FROM unnest(${column('assetId')}::text[], ${column('source')}::text[],
                           ${column('fromS')}::int8[], ${column('toS')}::int8[])
      ON CONFLICT (asset_id, source) DO UPDATE SET
        from_s = LEAST(candle_stale.from_s, excluded.from_s),
        to_s = GREATEST(candle_stale.to_s, excluded.to_s)`.execute(trx)
    return
  }
  // Four parameters a row: well under SQLite's limit of bound parameters a statement.
  for (let i = 0; i < marks.length; i += 1000) {
    await trx
      .insertInto('candleStale')
      .values(marks.slice(i, i + 1000).map((m) => ({ ...m })))
      .onConflict((oc) =>
        oc.columns(['assetId', 'source']).doUpdateSet({
          fromS: sql`MIN(candle_stale.from_s, excluded.from_s)`,
          toS: sql`MAX(candle_stale.to_s, excluded.to_s)`,
        }),
      )
      .execute()
  }
}
