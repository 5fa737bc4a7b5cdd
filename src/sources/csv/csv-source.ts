import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { glob, isDynamicPattern } from 'tinyglobby'
import type { Config } from '../../config.js'
import type { RawPayload, Source, Stream, StreamOptions, TransformResult } from '../source.js'
import { parseCsvCursor } from './csv-cursor.js'
import { mapCsvHeader } from './csv-header.js'
import { normalizeCsvRows } from './csv-normalize.js'
import { parseCsvBatch, readCsvBatches, type CsvBatchMeta } from './csv-read.js'
import { CsvRows } from './csv-rows.js'

/** CSV files of prices: one stream per file, checkpointed by content hash and offset. */
export function createCsvSource(config: Config['sources']['csv']): Source {
  return {
    name: 'csv',
    conflictCode: 'CSV_CONFLICTING_DUPLICATE',
    async streams(options: StreamOptions): Promise<Stream[]> {
      const files = await expandPaths(options.files ?? config.paths)
      return Promise.all(
        files.map(async (file) => {
          // Missing files are reported by the import itself.
          const size = (await stat(file).catch(() => undefined))?.size
          return {
            name: file,
            extract: (cursor, { signal }) => readCsvBatches(file, parseCsvCursor(cursor), config, signal),
            fractionDone: (cursor) => {
              const offset = parseCsvCursor(cursor)?.byteOffset
              return size && offset !== undefined ? Math.min(offset / size, 1) : undefined
            },
          } satisfies Stream
        }),
      )
    },
    transform(_stream: string, batch: RawPayload & { parsed?: unknown }): TransformResult {
      const meta = batch.meta as unknown as CsvBatchMeta
      const rows = batch.parsed instanceof CsvRows ? batch.parsed : parseCsvBatch(batch.payload, meta)
      return normalizeCsvRows(rows, mapCsvHeader(meta.columns), meta.decimalMark)
    },
  }
}

/** Plain paths are kept even when missing (the import then reports them); globs expand, sorted. */
async function expandPaths(patterns: readonly string[]): Promise<string[]> {
  const files: string[] = []
  for (const pattern of patterns) {
    if (isDynamicPattern(pattern))
      files.push(...(await glob(pattern, { absolute: true, onlyFiles: true })).sort())
    else files.push(resolve(pattern))
  }
  return [...new Set(files)]
}
