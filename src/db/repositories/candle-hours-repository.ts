import { sql, type Kysely } from 'kysely'
import { candleItem, consensusCandles, foldHours, type HourCandle } from '../../domain/candles.js'
import type { Db } from '../database.js'
import type { Database } from '../schema.js'
import { ALL_TIME_TO_S, disjointSpans, foldPendingMarks, HOUR_S } from './candle-marks-repository.js'
import { rawCandleRows } from './candle-sql.js'

/** Advisory lock key of the rollup refresher on PostgreSQL: one refresher at a time. */
const REFRESH_LOCK = 0x63616e64 // "cand"

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
  if ((await asRefresher(db, foldPendingMarks)) === 'busy') return 0
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
