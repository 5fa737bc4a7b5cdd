import type { Kysely } from 'kysely'
import type { Database } from '../schema.js'

export interface CheckpointRow {
  readonly stream: string
  /** JSON text, as stored. */
  readonly cursor: string
}

export async function findCheckpoint(
  db: Kysely<Database>,
  source: string,
  stream: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('checkpoints')
    .select('cursor')
    .where('source', '=', source)
    .where('stream', '=', stream)
    .executeTakeFirst()
  return row?.cursor
}

export async function saveCheckpoint(
  db: Kysely<Database>,
  checkpoint: { source: string; stream: string; cursor: string; runId: number | null; updatedAt: string },
): Promise<void> {
  await db
    .insertInto('checkpoints')
    .values(checkpoint)
    .onConflict((oc) =>
      oc.columns(['source', 'stream']).doUpdateSet({
        cursor: checkpoint.cursor,
        runId: checkpoint.runId,
        updatedAt: checkpoint.updatedAt,
      }),
    )
    .execute()
}

/** Forgets checkpoints so the next run starts over; returns how many were removed. */
export async function deleteCheckpoints(
  db: Kysely<Database>,
  source: string,
  stream?: string,
): Promise<number> {
  let query = db.deleteFrom('checkpoints').where('source', '=', source)
  if (stream !== undefined) query = query.where('stream', '=', stream)
  const result = await query.executeTakeFirst()
  return Number(result.numDeletedRows)
}
