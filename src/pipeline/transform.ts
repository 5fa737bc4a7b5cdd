import { describeDifference, type RecordBatch } from '../domain/record.js'
import { resolveAssets, type AssetCache } from '../identity/resolve-assets.js'
import type { DetectedSchemaChange } from '../domain/schema-change.js'
import type {
  ExtractedBatch,
  RawPayload,
  RowRejection,
  Source,
  SourceObservation,
} from '../sources/source.js'
import { identitySettingsOf, type PipelineContext } from './pipeline-context.js'
import { inSpan } from '../telemetry/tracing.js'

/** A batch ready to load: records unique by natural key, row `i` from `observations[i]`. */
export interface PreparedBatch {
  readonly records: RecordBatch
  /** The observations the records hold (`records.values`), as the source made them: line and text for messages. */
  readonly observations: readonly SourceObservation[]
  readonly rejections: readonly RowRejection[]
  /** Rows that repeated an earlier row of the batch with the same values. */
  readonly duplicates: number
  /** New fields seen in the payload, to record with the batch. */
  readonly schemaChanges: readonly DetectedSchemaChange[]
  /** The identity generation the records' asset ids belong to; the load re-resolves if it moved on. */
  readonly identityGeneration: number
}

/**
 * Transform: parse and normalize through the source (pure), resolve each asset, and collapse rows
 * that share a natural key: identical ones silently, differing ones as the source's conflict.
 */
export function prepareBatch(...args: Parameters<typeof transformBatch>): Promise<PreparedBatch> {
  const [, source, stream, , provenance] = args
  const attributes = {
    'coinpipe.source': source.name,
    'coinpipe.stream': stream,
    'coinpipe.batch_id': provenance.rawBatchId,
  }
  return inSpan('etl.transform', { attributes }, async (span) => {
    const prepared = await transformBatch(...args)
    span?.setAttributes({
      'coinpipe.batch.records': prepared.records.values.length,
      'coinpipe.batch.rejected': prepared.rejections.length,
      'coinpipe.batch.duplicates': prepared.duplicates,
    })
    return prepared
  })
}

async function transformBatch(
  ctx: Pick<PipelineContext, 'db' | 'identity'>,
  source: Source,
  stream: string,
  batch: RawPayload & Pick<ExtractedBatch, 'parsed'>,
  provenance: { runId: number | null; rawBatchId: number; loadedAt: string },
  cache: AssetCache,
): Promise<PreparedBatch> {
  const { observations, rejections, schemaChanges = [] } = source.transform(stream, batch)
  const identityGeneration = await inSpan(
    'etl.resolve_identity',
    { attributes: { 'coinpipe.source': source.name, 'coinpipe.batch.observations': observations.length } },
    () =>
      resolveAssets(ctx.db, identitySettingsOf(ctx), source.name, observations, cache, {
        now: provenance.loadedAt,
        trigger: provenance.runId === null ? source.name : `run:${provenance.runId}`,
      }),
  )

  // Rows sharing a key are found per asset and time, without building a key string per row; the
  // records are columns over the observations, not an object per row.
  const firstByKey = new Map<string, Map<string, number>>()
  const assetIds: string[] = []
  const sourceAssetIds: string[] = []
  const kept: SourceObservation[] = []
  const rejected: RowRejection[] = [...rejections]
  let duplicates = 0
  for (const observation of observations) {
    const assetId = assetIdOf(cache, observation)
    let byTime = firstByKey.get(assetId)
    if (byTime === undefined) firstByKey.set(assetId, (byTime = new Map<string, number>()))
    const first = byTime.get(observation.observedAt)
    if (first === undefined) {
      byTime.set(observation.observedAt, kept.length)
      assetIds.push(assetId)
      sourceAssetIds.push(observation.asset.sourceAssetId)
      kept.push(observation)
      continue
    }
    const difference = describeDifference(kept[first]!, observation)
    if (difference === '') {
      duplicates++
    } else {
      rejected.push({
        line: observation.line,
        reasonCode: source.conflictCode,
        message: `${where(observation)} repeats ${where(kept[first]!)} for ${assetId} at ${observation.observedAt} with other values (${difference}); the first is kept`,
        raw: observation.raw,
      })
    }
  }
  const records: RecordBatch = {
    provenance: {
      source: source.name,
      runId: provenance.runId,
      rawBatchId: provenance.rawBatchId,
      loadedAt: provenance.loadedAt,
    },
    assetIds,
    sourceAssetIds,
    values: kept,
  }
  return { records, observations: kept, rejections: rejected, duplicates, schemaChanges, identityGeneration }
}

/** The resolver answers for every source asset it is given; a gap is a bug, never a NULL asset id. */
function assetIdOf(cache: AssetCache, observation: SourceObservation): string {
  const assetId = cache.get(observation.asset.sourceAssetId)
  if (assetId === undefined) throw new Error(`asset ${observation.asset.sourceAssetId} was not resolved`)
  return assetId
}

export function where(observation: SourceObservation): string {
  return observation.line === null ? 'a row' : `line ${observation.line}`
}
