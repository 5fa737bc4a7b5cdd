import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parse, type Options } from 'csv-parse'
import { parse as parseSync } from 'csv-parse/sync'
import { CsvFileError } from '../../errors.js'
import type { ExtractedBatch } from '../source.js'
import { mapCsvHeader, CsvHeaderError } from './csv-header.js'
import type { CsvCursor } from './csv-cursor.js'
import { FilePrefixHasher, hashFilePrefix } from './file-prefix.js'

/** One CSV record with where it stood in the file. */
export interface CsvRow {
  readonly fields: readonly string[]
  /** 1-based line the record starts on. */
  readonly line: number
  readonly raw: string
}

/** What a stored CSV batch needs besides its text to be read again. */
export interface CsvBatchMeta {
  readonly file: string
  readonly columns: readonly string[]
  /** Lines of the file before this batch's text. */
  readonly lineBase: number
}

// csv-parse's own `raw` drops half of a CRLF, so each record's text is cut from the bytes by offset.
const PARSE_OPTIONS = {
  info: true,
  relax_column_count: true,
  relax_quotes: true,
  skip_empty_lines: true,
} as const satisfies Options

interface ParsedRecord {
  record: string[]
  info: { bytes: number }
}

/**
 * Streams a CSV file as batches of `batchRows` records, from `cursor` on. The file is trusted to be
 * the one the cursor describes only if its first `cursor.byteOffset` bytes hash the same; otherwise it
 * is read from the start (loads are upserts, so nothing doubles).
 */
export async function* readCsvBatches(
  file: string,
  cursor: CsvCursor | undefined,
  batchRows: number,
  signal: AbortSignal,
): AsyncGenerator<ExtractedBatch> {
  const size = await fileSize(file)
  let start = 0
  let lines = 0
  let columns: readonly string[] | undefined
  let hasher = new FilePrefixHasher()
  if (cursor && cursor.byteOffset <= size) {
    const prefix = await hashFilePrefix(file, cursor.byteOffset)
    if (prefix.digest === cursor.prefixSha256) {
      if (cursor.byteOffset === size) return
      start = cursor.byteOffset
      lines = cursor.line
      columns = cursor.columns
      hasher = new FilePrefixHasher(prefix.hash, start)
    }
  }

  const parser = parse({ ...PARSE_OPTIONS, bom: start === 0 })
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hasher.push(chunk)
      done(null, chunk)
    },
  })
  const feeding = pipeline(createReadStream(file, { start }), tap, parser)
  feeding.catch(() => undefined) // surfaced through the parser's iterator below

  let rows: CsvRow[] = []
  let lineBase = lines
  let byteEnd = start
  let batchStart = start
  const batch = (): ExtractedBatch => {
    const cols = columns ?? []
    const meta: CsvBatchMeta = { file, columns: cols, lineBase }
    const out: ExtractedBatch = {
      payload: hasher.text(batchStart, byteEnd),
      meta: { ...meta },
      rowCount: rows.length,
      cursorAfter: {
        byteOffset: byteEnd,
        line: lines,
        prefixSha256: hasher.digestAt(byteEnd),
        columns: cols,
      },
      parsed: rows,
    }
    rows = []
    lineBase = lines
    batchStart = byteEnd
    return out
  }

  try {
    for await (const { record, info } of parser as AsyncIterable<ParsedRecord>) {
      const raw = hasher.text(byteEnd, start + info.bytes)
      const row = toCsvRow(record, raw, lines)
      lines += countNewlines(raw)
      byteEnd = start + info.bytes
      if (columns === undefined) {
        columns = record.map((c) => c.trim())
        checkHeader(file, columns)
        lineBase = lines
        batchStart = byteEnd
        continue
      }
      rows.push(row)
      if (rows.length >= batchRows) {
        yield batch()
        if (signal.aborted) return
      }
    }
  } catch (error) {
    if (error instanceof CsvFileError) throw error
    throw new CsvFileError(
      'CSV_FILE_UNREADABLE',
      `cannot read ${file} after line ${lines}: ${String((error as Error).message)}`,
      { file, line: lines },
      error,
    )
  }
  if (rows.length > 0) yield batch()
}

/** Reads a stored batch's text back into rows, exactly as the live import saw them. */
export function parseCsvBatch(payload: string, meta: CsvBatchMeta): CsvRow[] {
  const bytes = Buffer.from(payload, 'utf8')
  const records = parseSync(bytes, { ...PARSE_OPTIONS, bom: false }) as unknown as ParsedRecord[]
  let lines = meta.lineBase
  let offset = 0
  return records.map(({ record, info }) => {
    const raw = bytes.subarray(offset, info.bytes).toString('utf8')
    offset = info.bytes
    const row = toCsvRow(record, raw, lines)
    lines += countNewlines(raw)
    return row
  })
}

function toCsvRow(fields: string[], raw: string, linesBefore: number): CsvRow {
  // Skipped empty lines sit at the front of the next record's text; its line delimiter at the end.
  let first = 0
  while (raw.charCodeAt(first) === 10 || raw.charCodeAt(first) === 13) first++
  let last = raw.length
  while (last > first && (raw.charCodeAt(last - 1) === 10 || raw.charCodeAt(last - 1) === 13)) last--
  return { fields, line: linesBefore + countNewlines(raw.slice(0, first)) + 1, raw: raw.slice(first, last) }
}

function countNewlines(text: string): number {
  let n = 0
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++
  return n
}

function checkHeader(file: string, columns: readonly string[]): void {
  try {
    mapCsvHeader(columns)
  } catch (error) {
    if (!(error instanceof CsvHeaderError)) throw error
    throw new CsvFileError(
      'CSV_HEADER_INVALID',
      `${file}: no column for ${error.missing.join(', ')} in header [${columns.join(', ')}]`,
      { file, missing: error.missing, columns },
      error,
    )
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file)
    if (!info.isFile()) throw new Error('not a regular file')
    return info.size
  } catch (error) {
    throw new CsvFileError(
      'CSV_FILE_UNREADABLE',
      `cannot read ${file}: ${(error as Error).message}`,
      { file },
      error,
    )
  }
}
