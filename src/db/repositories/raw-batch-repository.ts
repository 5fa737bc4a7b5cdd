import type { Kysely } from 'kysely'
import { NotFoundError } from '../../errors.js'
import type { Database, RawBatchRow } from '../schema.js'

export async function insertRawBatch(
  db: Kysely<Database>,
  batch: {
    runId: number | null
    source: string
    stream: string
    payload: string
    payloadSha256: string
    meta: string
    cursorBefore: string | null
    cursorAfter: string | null
    rowCount: number
    createdAt: string
    /** Who posted it, for a batch that came through the API. */
    addedBy?: string | null
  },
): Promise<number> {
  const row = await db
    .insertInto('rawBatches')
    .values({ ...batch, status: 'pending' })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

export async function markBatchLoaded(
  db: Kysely<Database>,
  batchId: number,
  loadedAt: string,
): Promise<void> {
  await db
    .updateTable('rawBatches')
    .set({ status: 'loaded', loadedAt, errorCode: null, errorMessage: null })
    .where('id', '=', batchId)
    .execute()
}

export async function markBatchFailed(
  db: Kysely<Database>,
  batchId: number,
  errorCode: string,
  errorMessage: string,
): Promise<void> {
  await db
    .updateTable('rawBatches')
    .set({ status: 'failed', errorCode, errorMessage })
    .where('id', '=', batchId)
    .execute()
}

/** Batches a dead run left half-done: they never committed, so they are failed and replayable. */
export async function failPendingBatchesOfRun(
  db: Kysely<Database>,
  runId: number,
  errorCode: string,
  errorMessage: string,
): Promise<void> {
  await db
    .updateTable('rawBatches')
    .set({ status: 'failed', errorCode, errorMessage })
    .where('runId', '=', runId)
    .where('status', '=', 'pending')
    .execute()
}

export async function getRawBatch(db: Kysely<Database>, batchId: number): Promise<RawBatchRow> {
  const row = await db.selectFrom('rawBatches').selectAll().where('id', '=', batchId).executeTakeFirst()
  if (!row) throw new NotFoundError('raw batch', batchId)
  return row
}

export async function listFailedBatchIds(db: Kysely<Database>): Promise<number[]> {
  const rows = await db
    .selectFrom('rawBatches')
    .select('id')
    .where('status', '=', 'failed')
    .orderBy('id')
    .execute()
  return rows.map((r) => r.id)
}

/** A batch without its payload, which may be megabytes. */
export type RawBatchInfo = Omit<RawBatchRow, 'payload'>

const INFO_COLUMNS = [
  'id',
  'runId',
  'source',
  'stream',
  'status',
  'payloadSha256',
  'meta',
  'cursorBefore',
  'cursorAfter',
  'rowCount',
  'errorCode',
  'errorMessage',
  'createdAt',
  'loadedAt',
  'addedBy',
] as const satisfies readonly (keyof RawBatchInfo)[]

/** One batch without its payload; throws `NotFoundError` when there is none. */
export async function getRawBatchInfo(db: Kysely<Database>, batchId: number): Promise<RawBatchInfo> {
  const row = await db
    .selectFrom('rawBatches')
    .select(INFO_COLUMNS)
    .where('id', '=', batchId)
    .executeTakeFirst()
  if (!row) throw new NotFoundError('raw batch', batchId)
  return row
}

/** The batches a run stored, without payloads, in the order they were fetched. */
export function listBatchesOfRun(db: Kysely<Database>, runId: number): Promise<RawBatchInfo[]> {
  return db.selectFrom('rawBatches').select(INFO_COLUMNS).where('runId', '=', runId).orderBy('id').execute()
}
