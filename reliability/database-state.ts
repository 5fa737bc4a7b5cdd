import { parseDatabaseUrl } from '../src/config.js'
import { openDatabase, type Db } from '../src/db/database.js'

/** What a scenario reads back from a database its child processes wrote: opened, read, closed. */
export async function withDatabase<T>(url: string, read: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(parseDatabaseUrl(url))
  try {
    return await read(db)
  } finally {
    await db.close()
  }
}

/** A run as the scenarios judge it. */
export interface StoredRun {
  readonly id: number
  readonly source: string
  readonly status: string
  readonly errorCode: string | null
  readonly errorMessage: string | null
  readonly loaded: number
}

/** Every run, oldest first. */
export function runsOf(url: string): Promise<StoredRun[]> {
  return withDatabase(url, (db) =>
    db.kysely
      .selectFrom('etlRuns')
      .select(['id', 'source', 'status', 'errorCode', 'errorMessage', 'loaded'])
      .orderBy('id')
      .execute(),
  )
}

/** Every stored record as one line of its key and values, sorted: what two runs must agree on. */
export function recordLines(url: string): Promise<string[]> {
  return withDatabase(url, async (db) => {
    const rows = await db.kysely
      .selectFrom('records')
      // All columns: CamelCasePlugin would name `volume24hUsd` volume24h_usd, not the volume_24h_usd it is.
      .selectAll()
      .execute()
    return rows
      .map((r) =>
        [
          r.source,
          r.assetId,
          new Date(r.observedAt).toISOString(),
          r.priceUsd,
          r.marketCapUsd,
          r.volume24hUsd,
        ].join('|'),
      )
      .sort()
  })
}

/** Lines of `reference` missing from `trial` (lost), and lines of `trial` beyond it (duplicated or wrong). */
export function compareRecords(reference: readonly string[], trial: readonly string[]) {
  const left = new Map<string, number>()
  for (const line of reference) left.set(line, (left.get(line) ?? 0) + 1)
  let duplicated = 0
  for (const line of trial) {
    const n = left.get(line) ?? 0
    if (n > 0) left.set(line, n - 1)
    else duplicated++
  }
  let lost = 0
  for (const n of left.values()) lost += n
  return { lost, duplicated }
}
