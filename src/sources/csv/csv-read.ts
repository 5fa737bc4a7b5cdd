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

  // Per record only its fields and where it ends; its text and line are cut from the batch's
  // payload once the batch is complete (one decode per batch instead of one per row).
  let records: ParsedRecord[] = []
  let lineBase = lines
  let byteEnd = start
  let batchStart = start
  const batch = (): ExtractedBatch => {
    const cols = columns ?? []
    const payload = hasher.text(batchStart, byteEnd)
    const rows = toCsvRows(payload, records, batchStart - start, lineBase)
    lines = lineBase + countNewlines(payload)
    const meta: CsvBatchMeta = { file, columns: cols, lineBase }
    const out: ExtractedBatch = {
      payload,
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
    records = []
    lineBase = lines
    batchStart = byteEnd
    return out
  }

  try {
    for await (const record of parser as AsyncIterable<ParsedRecord>) {
      byteEnd = start + record.info.bytes
      if (columns === undefined) {
        columns = record.record.map((c) => c.trim())
        checkHeader(file, columns)
        lines += countNewlines(hasher.text(batchStart, byteEnd))
        lineBase = lines
        batchStart = byteEnd
        continue
      }
      records.push(record)
      if (records.length >= batchRows) {
        yield batch()
        if (signal.aborted) return
      }
    }
  } catch (error) {
    if (error instanceof CsvFileError) throw error
    throw new CsvFileError(
      'CSV_FILE_UNREADABLE',
      `cannot read ${file} after line ${lineBase}: ${String((error as Error).message)}`,
      { file, line: lineBase },
      error,
    )
  }
  if (records.length > 0) yield batch()
}

/** Reads a stored batch's text back into rows, exactly as the live import saw them. */
export function parseCsvBatch(payload: string, meta: CsvBatchMeta): CsvRow[] {
  const records = parseSync(Buffer.from(payload, 'utf8'), {
    ...PARSE_OPTIONS,
    bom: false,
  }) as unknown as ParsedRecord[]
  return toCsvRows(payload, records, 0, meta.lineBase)
}

/**
 * Cuts each record's text out of its batch's payload. `info.bytes` counts from `bytesBefore` bytes
 * before the payload's start; on ASCII text byte and character offsets agree, so the cut is a cheap
 * slice of the payload string, otherwise the bytes are decoded record by record.
 */
function toCsvRows(
  payload: string,
  records: readonly ParsedRecord[],
  bytesBefore: number,
  lineBase: number,
): CsvRow[] {
  const ascii = Buffer.byteLength(payload) === payload.length
  const bytes = ascii ? undefined : Buffer.from(payload, 'utf8')
  const rows: CsvRow[] = new Array<CsvRow>(records.length)
  let lines = lineBase
  let from = 0
  records.forEach(({ record, info }, i) => {
    const to = info.bytes - bytesBefore
    const raw = bytes ? bytes.subarray(from, to).toString('utf8') : payload.slice(from, to)
    rows[i] = toCsvRow(record, raw, lines)
    lines += countNewlines(raw)
    from = to
  })
  return rows
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
