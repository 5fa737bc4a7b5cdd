import type { Kysely } from 'kysely'
import type { Db } from '../db/database.js'
import type { Database } from '../db/schema.js'
import { findCheckpoint, saveCheckpoint } from '../db/repositories/checkpoint-repository.js'
import { markBatchFailed, markBatchLoaded } from '../db/repositories/raw-batch-repository.js'
import { insertRejections } from '../db/repositories/rejection-repository.js'
import { addRunCounts, type RunCounts } from '../db/repositories/run-repository.js'
import { findAliasesWithEvidence, getIdentityGeneration } from '../db/repositories/identity-repository.js'
import { describeDifference } from '../domain/record.js'
import { SchemaDriftError, type AppError } from '../errors.js'
import { insertSchemaChanges } from '../db/repositories/schema-change-repository.js'
import type { DetectedSchemaChange } from '../domain/schema-change.js'
import type { RowRejection, SourceObservation } from '../sources/source.js'
import { where, type PreparedBatch } from './transform.js'
import { inSpan } from '../telemetry/tracing.js'

export interface LoadTarget {
  readonly source: string
  readonly conflictCode: string
  readonly stream: string
  readonly runId: number
  readonly rawBatchId: number
  readonly extracted: number
  /** The stream checkpoint once this batch is in, or null to leave it alone. */
  readonly cursorAfter: string | null
  /** Move the checkpoint only if it still stands here (a replay must never rewind a stream). */
  readonly onlyIfCheckpointIs?: string | null
  readonly now: string
}

/**
 * Load: the batch's records, its rejections, the stream checkpoint, the batch status and the run's
 * counts commit in one transaction, so a crash replays at most this batch and nothing doubles.
 */
export function loadBatch(db: Db, target: LoadTarget, prepared: PreparedBatch): Promise<RunCounts> {
  const attributes = {
    'coinpipe.source': target.source,
    'coinpipe.stream': target.stream,
    'coinpipe.batch_id': target.rawBatchId,
  }
  return inSpan('etl.load', { attributes }, async (span) => {
    const counts = await loadInTransaction(db, target, prepared)
    span?.setAttributes({
      'coinpipe.batch.loaded': counts.loaded,
      'coinpipe.batch.unchanged': counts.unchanged,
      'coinpipe.batch.rejected': counts.rejected,
    })
    return counts
  })
}

function loadInTransaction(db: Db, target: LoadTarget, prepared: PreparedBatch): Promise<RunCounts> {
  return db.kysely.transaction().execute(async (trx) => {
    await db.lockIdentity(trx, 'shared')
    const batch = await followMovedAliases(trx, target.source, prepared)
    const outcome = await db.writeRecords(trx, batch.records)
    const conflicts: RowRejection[] = outcome.conflicts.map(({ index, existing }) => {
      const observation = batch.observations[index]!
      return {
        line: observation.line,
        reasonCode: target.conflictCode,
        message: `${where(observation)}: ${batch.records.assetIds[index]!} at ${observation.observedAt} is already stored with other values (${describeDifference(existing, observation)}); the stored record is kept`,
        raw: observation.raw,
      }
    })
    const rejections = [...batch.rejections, ...conflicts]
    await insertRejections(
      trx,
      rejections.map((r) => ({
        ...r,
        runId: target.runId,
        rawBatchId: target.rawBatchId,
        source: target.source,
        createdAt: target.now,
      })),
    )
    await recordSchemaChanges(trx, target, batch.schemaChanges)
    await advanceCheckpoint(trx, target)
    await markBatchLoaded(trx, target.rawBatchId, target.now)
    const counts: RunCounts = {
      batches: 1,
      extracted: target.extracted,
      loaded: outcome.inserted,
      unchanged: outcome.unchanged + batch.duplicates,
      rejected: rejections.length,
    }
    await addRunCounts(trx, target.runId, counts, target.now)
    return counts
  })
}

/**
 * Asset ids were resolved before this transaction; if any alias moved since (another source's run
 * re-resolved identity), the records follow their aliases' current assets.
 */
async function followMovedAliases(
  trx: Kysely<Database>,
  source: string,
  batch: PreparedBatch,
): Promise<PreparedBatch> {
  if ((await getIdentityGeneration(trx)) === batch.identityGeneration) return batch
  const { records } = batch
  const ids = [...new Set(records.sourceAssetIds.filter((id): id is string => id !== null))]
  const aliases = await findAliasesWithEvidence(trx, source, ids)
  const seen = new Set<string>()
  const assetIds: string[] = []
  const sourceAssetIds: (string | null)[] = []
  const observations: SourceObservation[] = []
  let duplicates = batch.duplicates
  records.assetIds.forEach((stale, i) => {
    const sourceAssetId = records.sourceAssetIds[i]!
    const assetId = (sourceAssetId === null ? undefined : aliases.get(sourceAssetId)?.assetId) ?? stale
    const observation = batch.observations[i]!
    // Two source assets that now share an asset may hold the same time: the first stays.
    const key = `${assetId}\u0000${observation.observedAt}`
    if (seen.has(key)) {
      duplicates++
      return
    }
    seen.add(key)
    assetIds.push(assetId)
    sourceAssetIds.push(sourceAssetId)
    observations.push(observation)
  })
  return {
    ...batch,
    records: { provenance: records.provenance, assetIds, sourceAssetIds, values: observations },
    observations,
    duplicates,
  }
}

/** A batch whose payload cannot be transformed at all: kept raw as `failed`, and the stream moves past it. */
export function skipFailedBatch(db: Db, target: LoadTarget, error: AppError): Promise<void> {
  return db.kysely.transaction().execute(async (trx) => {
    await markBatchFailed(trx, target.rawBatchId, error.code, error.message)
    if (error instanceof SchemaDriftError) await recordSchemaChanges(trx, target, error.changes)
    await advanceCheckpoint(trx, target)
    await addRunCounts(
      trx,
      target.runId,
      { batches: 1, extracted: target.extracted, loaded: 0, unchanged: 0, rejected: 0 },
      target.now,
    )
  })
}

/** Schema changes go in with the batch that showed them; one already on record is not repeated. */
export async function recordSchemaChanges(
  trx: Kysely<Database>,
  target: Pick<LoadTarget, 'source' | 'stream' | 'runId' | 'rawBatchId' | 'now'>,
  changes: readonly DetectedSchemaChange[],
): Promise<void> {
  if (changes.length === 0) return
  await insertSchemaChanges(
    trx,
    changes.map((c) => ({
      source: target.source,
      stream: target.stream,
      field: c.field,
      change: c.change,
      detail: JSON.stringify(c.detail),
      runId: target.runId,
      rawBatchId: target.rawBatchId,
      detectedAt: target.now,
    })),
  )
}

/** Moves the stream's checkpoint past the batch; on replay, only when the stream still stands right before it. */
async function advanceCheckpoint(trx: Kysely<Database>, target: LoadTarget): Promise<void> {
  if (target.cursorAfter === null) return
  if (target.onlyIfCheckpointIs !== undefined) {
    const current = (await findCheckpoint(trx, target.source, target.stream)) ?? null
    if (current !== target.onlyIfCheckpointIs) return
  }
  await saveCheckpoint(trx, {
    source: target.source,
    stream: target.stream,
    cursor: target.cursorAfter,
    runId: target.runId,
    updatedAt: target.now,
  })
}
