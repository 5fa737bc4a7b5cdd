import { createHash } from 'node:crypto'
import { findAsset } from '../db/repositories/asset-repository.js'
import { insertRawBatch, markBatchFailed, markBatchLoaded } from '../db/repositories/raw-batch-repository.js'
import { findRecordByKey, type RecordWithSymbol } from '../db/repositories/record-repository.js'
import { parseTimestamp } from '../domain/parse-timestamp.js'
import {
  describeDifference,
  MARKET_FIELDS,
  recordBatchOf,
  type MarketValues,
  type NewRecord,
} from '../domain/record.js'
import { RecordConflictError, ValidationError } from '../errors.js'
import { findAliasesWithEvidence, getIdentityGeneration } from '../db/repositories/identity-repository.js'
import { AssetCache, resolveAssets } from '../identity/resolve-assets.js'
import type { SourceAssetRef } from '../sources/source.js'
import { identitySettingsOf, nowIso, type PipelineContext } from './pipeline-context.js'

export interface RecordInput extends Partial<MarketValues> {
  readonly symbol: string
  readonly name?: string
  readonly assetId?: string
  readonly source: string
  readonly observedAt: string
  readonly priceUsd: number
}

/**
 * Adds one record by hand, through the same raw storage, identity and key rules as the ETL:
 * `created` for a new key, `existing` when the key already holds exactly these values, and a
 * `RecordConflictError` when it holds others. `addedBy` is stored with its raw batch.
 */
export async function addRecord(
  ctx: PipelineContext,
  input: RecordInput,
  opts: { addedBy?: string | null } = {},
): Promise<{ outcome: 'created' | 'existing'; record: RecordWithSymbol }> {
  const db = ctx.db.kysely
  const observedAt = parseTimestamp(input.observedAt)
  if (observedAt === undefined)
    throw new ValidationError(
      'observed_at',
      `observed_at ${JSON.stringify(input.observedAt)} is not a date-time`,
    )
  const symbol = input.symbol.trim().toUpperCase()
  if (symbol === '') throw new ValidationError('symbol', 'symbol must not be empty')
  const name = input.name?.trim() || null
  const now = nowIso(ctx)

  let assetId: string
  let ref: SourceAssetRef | undefined
  let generation = -1
  if (input.assetId !== undefined) {
    assetId = input.assetId
    if (!(await findAsset(db, assetId)))
      throw new ValidationError('asset_id', `asset ${assetId} does not exist`)
  } else {
    ref = { sourceAssetId: name ? `${symbol}:${name.toLowerCase()}` : symbol, symbol, name }
    const cache = new AssetCache()
    generation = await resolveAssets(
      ctx.db,
      identitySettingsOf(ctx),
      input.source,
      [
        {
          asset: ref,
          observedAt,
          priceUsd: input.priceUsd,
          rank: input.rank,
          marketCapUsd: input.marketCapUsd,
        },
      ],
      cache,
      { now, trigger: 'api' },
    )
    const resolved = cache.get(ref.sourceAssetId)
    if (resolved === undefined) throw new Error(`asset ${ref.sourceAssetId} was not resolved`)
    assetId = resolved
  }

  const payload = JSON.stringify(input)
  const rawBatchId = await insertRawBatch(db, {
    runId: null,
    source: input.source,
    stream: 'api',
    payload,
    payloadSha256: createHash('sha256').update(payload).digest('hex'),
    meta: '{}',
    cursorBefore: null,
    cursorAfter: null,
    rowCount: 1,
    createdAt: now,
    addedBy: opts.addedBy ?? null,
  })
  const values = Object.fromEntries(
    MARKET_FIELDS.map((field) => [field, input[field] ?? null]),
  ) as unknown as MarketValues
  let record: NewRecord = {
    ...values,
    assetId,
    source: input.source,
    sourceAssetId: ref?.sourceAssetId ?? null,
    observedAt,
    runId: null,
    rawBatchId,
    loadedAt: now,
  }
  const outcome = await ctx.db.kysely.transaction().execute(async (trx) => {
    // An alias that moved since it was resolved: the record follows it.
    await ctx.db.lockIdentity(trx, 'shared')
    if (ref && (await getIdentityGeneration(trx)) !== generation) {
      const alias = (await findAliasesWithEvidence(trx, input.source, [ref.sourceAssetId])).get(
        ref.sourceAssetId,
      )
      if (alias) record = { ...record, assetId: alias.assetId }
    }
    const written = await ctx.db.writeRecords(trx, recordBatchOf([record]))
    if (written.conflicts.length === 0) await markBatchLoaded(trx, rawBatchId, now)
    return written
  })
  const key = { assetId: record.assetId, source: input.source, observedAt }
  const conflict = outcome.conflicts[0]
  if (conflict) {
    const message = `${assetId} from ${input.source} at ${observedAt} is already stored with other values (${describeDifference(conflict.existing, record)})`
    await markBatchFailed(db, rawBatchId, 'RECORD_CONFLICT', message)
    throw new RecordConflictError(message, key)
  }
  const stored = await findRecordByKey(db, key)
  if (!stored)
    throw new Error(`record ${assetId}/${input.source}/${observedAt} vanished after it was written`)
  return { outcome: outcome.inserted === 1 ? 'created' : 'existing', record: stored }
}
