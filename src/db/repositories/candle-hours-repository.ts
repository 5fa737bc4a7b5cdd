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
 * Brings the rollup up to date for at most `limit` marks, in asset id order: first folds the writes'
 * pending rows into the marks, then per mark, inside a transaction, takes the mark off and recomputes
 * its hours from the records (a write that lands after the mark is taken leaves a new pending row).
 * On PostgreSQL one refresher works at a time; another returns at once. Returns how many marks it
 * cleared.
 */
export async function refreshCandleHours(
  db: Db,
  { limit = 100, signal }: { limit?: number; signal?: AbortSignal } = {},
): Promise<number> {
  if ((await foldPendingMarks(db)) === 'busy') return 0
  const marks = await db.kysely
    .selectFrom('candleStale')
    .select(['assetId', 'source', 'fromS', 'toS'])
    .orderBy('assetId')
    .orderBy('source')
    .limit(limit)
    .execute()
  let cleared = 0
  for (const group of transactionGroups(marks)) {
    if (signal?.aborted) break
    const outcome = await asRefresher(db, async (trx) => {
      // The consensus of an asset's hours once, after every source of the group has refreshed them.
      const refreshed = new Map<string, [number, number][]>()
      for (const mark of group) {
        const hours = await refreshMark(trx, db.kind, mark)
        if (hours) refreshed.set(mark.assetId, [...(refreshed.get(mark.assetId) ?? []), hours])
      }
      for (const [assetId, spans] of refreshed)
        for (const [fromS, toS] of disjointSpans(spans)) await refreshConsensusHours(trx, assetId, fromS, toS)
      return [...refreshed.values()].reduce((n, spans) => n + spans.length, 0)
    })
    if (outcome === 'busy') break
    cleared += outcome
  }
  return cleared
}

/**
 * `work` in a transaction of the one refresher: on PostgreSQL, 'busy' at once when another holds
 * the refresher's lock (SQLite's write lock already makes every write transaction the only one).
 */
async function asRefresher<T>(db: Db, work: (trx: Kysely<Database>) => Promise<T>): Promise<T | 'busy'> {
  return db.kysely.transaction().execute(async (trx) => {
    if (db.kind === 'postgres') {
      const { rows } = await sql<{ locked: boolean }>`
        SELECT pg_try_advisory_xact_lock(${REFRESH_LOCK}) AS locked`.execute(trx)
      if (!rows[0]?.locked) return 'busy'
    }
    return work(trx)
  })
}

/**
 * Folds the committed pending rows (up to `PENDING_PER_FOLD` of them) into `candle_stale`, one mark
 * per asset and source widened to cover them, and deletes them, in one transaction. A write not yet
 * committed is not seen, and neither are its records: its rows are folded by a later refresh.
 */
async function foldPendingMarks(db: Db): Promise<number | 'busy'> {
  return asRefresher(db, async (trx) => {
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
  })
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
 * Inside `trx`: takes the mark off, then recomputes its hours from the records; returns those hours
 * `[fromS, toS)`, whose consensus is then stale, or undefined when another refresher took the mark.
 */
async function refreshMark(
  trx: Kysely<Database>,
  kind: Db['kind'],
  { assetId, source }: { assetId: string; source: string },
): Promise<[number, number] | undefined> {
  const taken = await trx
    .deleteFrom('candleStale')
    .where('assetId', '=', assetId)
    .where('source', '=', source)
    .returning(['fromS', 'toS'])
    .executeTakeFirst()
  if (!taken) return undefined
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
  return [fromS, toS]
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
  await db.kysely.transaction().execute(async (trx) => {
    // Waits for the refresher's lock: only a refresher writes `candle_stale`.
    if (db.kind === 'postgres') await sql`SELECT pg_advisory_xact_lock(${REFRESH_LOCK})`.execute(trx)
    await sql`
      INSERT INTO candle_stale (asset_id, source, from_s, to_s)
      SELECT DISTINCT asset_id, source, 0, ${sql.lit(ALL_TIME_TO_S)} FROM records
      WHERE ${assetIds === undefined ? sql`true` : sql`asset_id IN (${sql.join(assetIds)})`}
      ON CONFLICT (asset_id, source) DO UPDATE SET from_s = 0, to_s = ${sql.lit(ALL_TIME_TO_S)}`.execute(trx)
  })
  return refreshAllCandleHours(db)
}
