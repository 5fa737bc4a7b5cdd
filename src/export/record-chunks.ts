import type { Kysely } from 'kysely'
import {
  listRecordPage,
  type RecordColumnsRow,
  type RecordFilter,
} from '../db/repositories/record-repository.js'
import type { Database } from '../db/schema.js'

/** The fields of a record in the order the JSON answer of `GET /api/v1/records` prints them. */
export const RECORD_EXPORT_FIELDS = [
  'id',
  'asset_id',
  'symbol',
  'source',
  'observed_at',
  'price_usd',
  'market_cap_usd',
  'volume_24h_usd',
  'change_24h_pct',
  'rank',
  'circulating_supply',
  'total_supply',
  'max_supply',
  'run_id',
  'raw_batch_id',
  'loaded_at',
] as const satisfies readonly (keyof RecordColumnsRow)[]

/** Rows per query when a whole result is read: one statement's worth of rows, a megabyte or so of CSV. */
export const EXPORT_CHUNK_ROWS = 5_000

export interface RecordWalk extends RecordFilter {
  readonly order: 'asc' | 'desc'
  /** Start after this keyset position (a page cursor's). */
  readonly after?: { readonly observedAt: string; readonly id: number }
  /** At most this many rows in all; every matching row without it. */
  readonly limit?: number
  readonly chunkRows?: number
}

/**
 * Every record matching `walk`, in chunks read by keyset pages (the same statement as the API's
 * pages), so a chunk costs what the first does and memory holds one chunk whatever the total.
 * Nothing is read before the consumer asks for the next chunk, and a consumer that stops
 * (`return()`, as a destroyed stream does) stops the reading.
 */
export async function* readRecordChunks(
  db: Kysely<Database>,
  walk: RecordWalk,
): AsyncGenerator<RecordColumnsRow[]> {
  const chunkRows = walk.chunkRows ?? EXPORT_CHUNK_ROWS
  let remaining = walk.limit ?? Infinity
  let after = walk.after
  while (remaining > 0) {
    const limit = Math.min(chunkRows, remaining)
    const rows = await listRecordPage(db, { ...walk, limit, after })
    if (rows.length > 0) yield rows
    const last = rows.at(-1)
    if (rows.length < limit || last === undefined) return
    remaining -= rows.length
    after = { observedAt: last.observed_at, id: last.id }
  }
}
