import { createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import type { Kysely } from 'kysely'
import { findRemapTargets } from '../db/repositories/asset-query-repository.js'
import { findAsset } from '../db/repositories/asset-repository.js'
import type { RecordColumnsRow } from '../db/repositories/record-repository.js'
import type { Database } from '../db/schema.js'
import { AssetNotFoundError, ValidationError } from '../errors.js'
import { csvStream, sameNamedColumns } from './csv-stream.js'
import { readRecordChunks, RECORD_EXPORT_FIELDS } from './record-chunks.js'
import { writeRecordParquet } from './record-parquet.js'

export const EXPORT_FORMATS = ['csv', 'parquet'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export interface RecordExport {
  readonly format: ExportFormat
  /** These assets, one after the other in this order; every asset when empty. */
  readonly assetIds: readonly string[]
  readonly source?: string
  /** Inclusive, ISO 8601 UTC. */
  readonly from?: string
  /** Exclusive, ISO 8601 UTC. */
  readonly to?: string
  /** The file to write; it appears only once complete. */
  readonly out: string
}

export interface ExportOutcome {
  readonly rows: number
  readonly file: string
  readonly bytes: number
}

/**
 * Writes the records of `request` to a file, oldest first per asset, read in keyset chunks so
 * memory stays flat whatever the count. The file is written as `<out>.partial` and renamed when
 * complete: a failed export leaves nothing that looks whole (and removes its partial file).
 */
export async function exportRecords(db: Kysely<Database>, request: RecordExport): Promise<ExportOutcome> {
  if (request.from !== undefined && request.to !== undefined && request.from >= request.to)
    throw new ValidationError('to', `to (${request.to}) must be later than from (${request.from})`)
  for (const id of request.assetIds)
    if ((await findAsset(db, id)) === undefined)
      throw new AssetNotFoundError(id, await findRemapTargets(db, id))

  const partial = `${request.out}.partial`
  let rows = 0
  async function* chunks(): AsyncGenerator<RecordColumnsRow[]> {
    const assets = request.assetIds.length === 0 ? [undefined] : request.assetIds
    for (const assetId of assets) {
      const walk = {
        assetId,
        source: request.source,
        from: request.from,
        to: request.to,
        order: 'asc' as const,
      }
      for await (const chunk of readRecordChunks(db, walk)) {
        rows += chunk.length
        yield chunk
      }
    }
  }
  try {
    if (request.format === 'csv')
      await pipeline(csvStream(sameNamedColumns(RECORD_EXPORT_FIELDS), chunks()), createWriteStream(partial))
    else await writeRecordParquet(partial, chunks())
    await rename(partial, request.out)
  } catch (error) {
    await rm(partial, { force: true })
    throw error
  }
  return { rows, file: request.out, bytes: (await stat(request.out)).size }
}
