import { PostgresAdapter, sql, type Kysely } from 'kysely'
import { candleItem, consensusCandles, foldHours, type HourCandle } from '../../domain/candles.js'
import type { RecordBatch } from '../../domain/record.js'
import type { Db } from '../database.js'
import type { Database } from '../schema.js'
import { rawCandleRows } from './candle-sql.js'

const HOUR_S = 3_600

/** The end of time for a mark (9999-12-31T23:00Z): the hours after every record. */
export const ALL_TIME_TO_S = 253_402_297_200

/** Hours `[fromS, toS)` of an asset and source whose rollup may lag the records. */
export interface StaleHours {
  readonly assetId: string
  readonly source: string
  readonly fromS: number
  readonly toS: number
}

/** Advisory lock key of the rollup refresher on PostgreSQL: one refresher at a time. */
const REFRESH_LOCK = 0x63616e64 // "cand"

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
 * Inside `trx`, the transaction that wrote the records: widens each asset's and source's mark to
 * cover the hours given, so readers take them from the records until the refresher has caught up.
 */
export async function markCandleHoursStale(
  trx: Kysely<Database>,
  marks: readonly StaleHours[],
): Promise<void> {
  if (marks.length === 0) return
  // Rows are locked in one order by every writer and by the refresher, so two never deadlock.
  const sorted = [...marks].sort(byMarkKey)
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    // One statement text whatever the count, with four array parameters rather than four a mark:
    // a batch's 200 marks upsert in 3.3 ms instead of 5.0 (the CSV import's write path).
    const column = <K extends keyof StaleHours>(key: K) => sorted.map((m) => m[key])
    await sql`
      INSERT INTO candle_stale (asset_id, source, from_s, to_s)
      SELECT asset_id, source, from_s, to_s
      FROM unnest(${column('assetId')}::text[], ${column('source')}::text[], ${column('fromS')}::int8[],
                  ${column('toS')}::int8[]) WITH ORDINALITY AS m(asset_id, source, from_s, to_s, ord)
      ORDER BY ord
      ON CONFLICT (asset_id, source) DO UPDATE SET
        from_s = LEAST(candle_stale.from_s, excluded.from_s),
        to_s = GREATEST(candle_stale.to_s, excluded.to_s)`.execute(trx)
    return
  }
  // Four parameters a row: well under SQLite's limit of bound parameters a statement.
  for (let i = 0; i < sorted.length; i += 1000) {
    await trx
      .insertInto('candleStale')
      .values(sorted.slice(i, i + 1000).map((m) => ({ ...m })))
      .onConflict((oc) =>
        oc.columns(['assetId', 'source']).doUpdateSet({
          fromS: sql`MIN(candle_stale.from_s, excluded.from_s)`,
          toS: sql`MAX(candle_stale.to_s, excluded.to_s)`,
        }),
      )
      .execute()
  }
}

/** The one order in which marks are locked: by asset id, then source, as JavaScript compares strings. */
function byMarkKey(a: { assetId: string; source: string }, b: { assetId: string; source: string }): number {
  if (a.assetId !== b.assetId) return a.assetId < b.assetId ? -1 : 1
  return a.source < b.source ? -1 : a.source > b.source ? 1 : 0
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

/** The marks of an asset (one source's, or all) that overlap hours `[fromS, toS)`. */
export async function staleHoursOverlapping(
  db: Kysely<Database>,
  query: { assetId: string; source?: string | undefined; fromS: number; toS: number },
): Promise<StaleHours[]> {
  let select = db
    .selectFrom('candleStale')
    .select(['assetId', 'source', 'fromS', 'toS'])
    .where('assetId', '=', query.assetId)
    .where('fromS', '<', query.toS)
    .where('toS', '>', query.fromS)
  if (query.source !== undefined) select = select.where('source', '=', query.source)
  const rows = await select.execute()
  return rows.map((r) => ({ ...r, fromS: Number(r.fromS), toS: Number(r.toS) }))
}

/**
 * Brings the rollup up to date for at most `limit` marks, in asset id order: per mark, inside a
 * transaction, takes the mark off, then recomputes its hours from the records (a write that lands
 * after the mark is taken widens a new one). On PostgreSQL one refresher works at a time; another
 * returns at once. Returns how many marks it cleared.
 */
export async function refreshCandleHours(
  db: Db,
  { limit = 100, signal }: { limit?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const marks = await db.kysely
    .selectFrom('candleStale')
    .select(['assetId', 'source', 'fromS', 'toS'])
    .orderBy('assetId')
    .orderBy('source')
    .limit(limit)
    .execute()
  let cleared = 0
  // In the writers' lock order (see `markCandleHoursStale`), not the database collation's.
  for (const group of transactionGroups(marks.sort(byMarkKey))) {
    if (signal?.aborted) break
    const outcome = await db.kysely.transaction().execute(async (trx) => {
      if (db.kind === 'postgres') {
        const { rows } = await sql<{ locked: boolean }>`
          SELECT pg_try_advisory_xact_lock(${REFRESH_LOCK}) AS locked`.execute(trx)
        if (!rows[0]?.locked) return 'busy'
      }
      let n = 0
      for (const mark of group) if (await refreshMark(trx, db.kind, mark)) n++
      return n
    })
    if (outcome === 'busy') break
    cleared += outcome
  }
  return cleared
}

/**
 * Narrow marks cleared together, up to 50 a transaction: after a snapshot run every asset of the
 * source holds one, and a commit each would cost the refresh more than its queries. A mark wider
 * than a month (a backfill, a migrated database's history) gets a transaction of its own, so SQLite's
 * write lock is held for one asset's history at a time.
 */
function transactionGroups<M extends { fromS: number | string; toS: number | string }>(
  marks: readonly M[],
): M[][] {
  const groups: M[][] = []
  let narrow: M[] = []
  for (const mark of marks) {
    if (Number(mark.toS) - Number(mark.fromS) > WIDE_MARK_S) groups.push([mark])
    else if (narrow.push(mark) === MARKS_PER_TRANSACTION) {
      groups.push(narrow)
      narrow = []
    }
  }
  if (narrow.length > 0) groups.push(narrow)
  return groups
}

const MARKS_PER_TRANSACTION = 50
const WIDE_MARK_S = 31 * 24 * HOUR_S

/**
 * Inside `trx`: takes the mark off, then recomputes its hours from the records, and their consensus;
 * false when another refresher took it first.
 */
async function refreshMark(
  trx: Kysely<Database>,
  kind: Db['kind'],
  { assetId, source }: { assetId: string; source: string },
): Promise<boolean> {
  const taken = await trx
    .deleteFrom('candleStale')
    .where('assetId', '=', assetId)
    .where('source', '=', source)
    .returning(['fromS', 'toS'])
    .executeTakeFirst()
  if (!taken) return false
  const fromS = Number(taken.fromS)
  const toS = Number(taken.toS)
  await trx
    .deleteFrom('candleHours')
    .where('assetId', '=', assetId)
    .where('source', '=', source)
    .where('hourS', '>=', fromS)
    .where('hourS', '<', toS)
    .execute()
  const hours = rawCandleRows(kind, {
    assetId,
    source,
    interval: '1h',
    from: new Date(fromS * 1000).toISOString(),
    to: new Date(toS * 1000).toISOString(),
  })
  await sql`
    INSERT INTO candle_hours (asset_id, source, hour_s, open, high, low, close, market_cap, volume, points)
    SELECT ${assetId}, source, bucket, open, high, low, close, cap, volume, points FROM (${hours}) h`.execute(
    trx,
  )
  await refreshConsensusHours(trx, assetId, fromS, toS)
  return true
}

/**
 * Inside the refresher's transaction: the consensus of the asset's hours `[fromS, toS)` recomputed
 * from every source's hours in the rollup, by the API's own consensus (the median of each value).
 * An hour where another source is still marked is recomputed again when that mark is cleared;
 * readers meanwhile take it from the sources (see `staleHoursOverlapping`).
 */
async function refreshConsensusHours(
  trx: Kysely<Database>,
  assetId: string,
  fromS: number,
  toS: number,
): Promise<void> {
  await trx
    .deleteFrom('candleConsensus')
    .where('assetId', '=', assetId)
    .where('hourS', '>=', fromS)
    .where('hourS', '<', toS)
    .execute()
  const hours = await readCandleHours(trx, { assetId, source: undefined, fromS, toS })
  const consensus = consensusCandles(foldHours(hours, '1h'))
  // Three parameters a row: well under either dialect's limit of bound parameters a statement.
  for (let i = 0; i < consensus.length; i += 1000) {
    await trx
      .insertInto('candleConsensus')
      .values(
        consensus.slice(i, i + 1000).map((c) => ({
          assetId,
          hourS: Date.parse(c.bucket) / 1000,
          item: JSON.stringify(candleItem(c, undefined)),
        })),
      )
      .execute()
  }
}

/** An asset's hours `[fromS, toS)` in the rollup, of one source or all, ordered by source and hour. */
export async function readCandleHours(
  db: Kysely<Database>,
  range: { assetId: string; source: string | undefined; fromS: number; toS: number },
): Promise<HourCandle[]> {
  // Without the camel-case plugin, which would copy each of a year's rows to rename its keys: the
  // columns are named as `HourCandle` has them already.
  const { rows } = await sql<HourCandle>`
    SELECT source, hour_s AS "hourS", open, high, low, close, market_cap AS cap, volume, points
    FROM candle_hours
    WHERE asset_id = ${range.assetId} AND hour_s >= ${range.fromS} AND hour_s < ${range.toS}
      ${range.source === undefined ? sql`` : sql`AND source = ${range.source}`}
    ORDER BY source, hour_s`.execute(db.withoutPlugins())
  // PostgreSQL answers bigint as a string.
  if (typeof rows[0]?.hourS === 'string')
    for (const row of rows) (row as { hourS: number }).hourS = Number(row.hourS)
  return rows
}

/**
 * An asset's hourly consensus `[fromS, toS)` from the rollup as the API prints it, in time order and
 * joined with commas by the database (`string_agg` on both dialects; SQLite has it since 3.44):
 * a year is one string, not 8,760 rows; `undefined` when the rollup holds no hour there.
 */
export async function readConsensusJoined(
  db: Kysely<Database>,
  range: { assetId: string; fromS: number; toS: number },
): Promise<string | undefined> {
  const { rows } = await sql<{ items: string | null }>`
    SELECT string_agg(item, ',' ORDER BY hour_s) AS items
    FROM candle_consensus
    WHERE asset_id = ${range.assetId} AND hour_s >= ${range.fromS} AND hour_s < ${range.toS}`.execute(
    db.withoutPlugins(),
  )
  return rows[0]?.items ?? undefined
}

/** Refreshes until no mark is left, `signal` aborts, or another refresher holds PostgreSQL's lock. */
export async function refreshAllCandleHours(db: Db, signal?: AbortSignal): Promise<number> {
  let total = 0
  for (;;) {
    const cleared = await refreshCandleHours(db, { signal })
    total += cleared
    if (cleared === 0) return total
  }
}

/**
 * Rebuilds the rollup from the records (of `assetIds` only, when given): for records written around
 * coinpipe (a restore, a bulk COPY), which left no marks. Marks every stored asset and source over all
 * time, then refreshes. (`WHERE true`: SQLite's parser needs it between a SELECT and its upsert clause.)
 */
export async function rebuildCandleHours(
  db: Db,
  { assetIds }: { assetIds?: readonly string[] } = {},
): Promise<number> {
  await sql`
    INSERT INTO candle_stale (asset_id, source, from_s, to_s)
    SELECT DISTINCT asset_id, source, 0, ${sql.lit(ALL_TIME_TO_S)} FROM records
    WHERE ${assetIds === undefined ? sql`true` : sql`asset_id IN (${sql.join(assetIds)})`}
    ON CONFLICT (asset_id, source) DO UPDATE SET from_s = 0, to_s = ${sql.lit(ALL_TIME_TO_S)}`.execute(
    db.kysely,
  )
  return refreshAllCandleHours(db)
}
