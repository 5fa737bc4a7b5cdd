import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import { insertRawBatch } from '../db/repositories/raw-batch-repository.js'
import type { Database } from '../db/schema.js'
import type { ExtractedBatch } from '../sources/source.js'

/** Raw first: the payload is stored verbatim before anything reads it. */
export function storeRawBatch(
  db: Kysely<Database>,
  where: { runId: number; source: string; stream: string; cursorBefore: string | null; now: string },
  batch: ExtractedBatch,
): Promise<number> {
  return insertRawBatch(db, {
    runId: where.runId,
    source: where.source,
    stream: where.stream,
    payload: batch.payload,
    payloadSha256: createHash('sha256').update(batch.payload).digest('hex'),
    meta: JSON.stringify(batch.meta),
    cursorBefore: where.cursorBefore,
    cursorAfter: JSON.stringify(batch.cursorAfter),
    rowCount: batch.rowCount,
    createdAt: where.now,
  })
}
