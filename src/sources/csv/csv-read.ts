import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { CsvFileError } from '../../errors.js'
import type { ExtractedBatch } from '../source.js'
import { sameFileStats, type CsvCursor, type CsvFileStats } from './csv-cursor.js'
import { DEFAULT_DIALECT, detectCsvDialect, type CsvDialect, type CsvDialectSetting } from './csv-dialect.js'
import { mapCsvHeader, CsvHeaderError } from './csv-header.js'
import { CsvRecordReader, type CsvRecordSink } from './csv-records.js'
import { CsvRowLocator, CsvRows } from './csv-rows.js'
import { FilePrefixHasher, hashFilePrefix } from './file-prefix.js'

/** What a stored CSV batch needs besides its text to be read again. */
export interface CsvBatchMeta extends Partial<CsvDialect> {
  readonly file: string
  readonly columns: readonly string[]
  /** Lines of the file before this batch's text. */
  readonly lineBase: number
}

export interface CsvReadSettings {
  readonly batchRows: number
  /** What configuration pins of the dialect; the rest is detected from the file's first bytes. */
  readonly dialect?: CsvDialectSetting
}

/** Enough of a file's start for its header and a few dozen rows: the dialect is read from it. */
const HEAD_BYTES = 64 * 1024
const READ_CHUNK_BYTES = 32 * 1024

/** Records parsed and not yet cut into a batch: fields (undefined when malformed), end offsets, and why each malformed one is. */
interface PendingRecords {
  fields: (string[] | undefined)[]
  ends: number[]
  reasons: Map<number, string>
}

/**
 * Streams a CSV file as batches of `batchRows` records, from `cursor` on. The file is trusted to be
 * the one the cursor describes only if its first `cursor.byteOffset` bytes hash the same; otherwise it
 * is read from the start (loads are upserts, so nothing doubles). A record csv-parse cannot read is
 * passed on as malformed (to be rejected with its line) and reading goes on after it.
 */
export async function* readCsvBatches(
  file: string,
  cursor: CsvCursor | undefined,
  settings: CsvReadSettings,
  signal: AbortSignal,
): AsyncGenerator<ExtractedBatch> {
  let stats = await fileStats(file)
  /** Whether the file's stats moved since reading began: a last row without a newline is then not taken. */
  let changedWhileRead = false
  const size = stats.size
  // The file as this import last left it, to the byte: nothing to read, and nothing to hash.
  if (cursor?.byteOffset === size && cursor.fileStats && sameFileStats(cursor.fileStats, stats)) return
  let start = 0
  let lines = 0
  let columns: readonly string[] | undefined
  let dialect: CsvDialect | undefined
  let hasher = new FilePrefixHasher()
  if (cursor && cursor.byteOffset <= size) {
    const prefix = await hashFilePrefix(file, cursor.byteOffset)
    if (prefix.digest === cursor.prefixSha256) {
      if (cursor.byteOffset === size) return
      start = cursor.byteOffset
      lines = cursor.line
      columns = cursor.columns
      dialect = { ...DEFAULT_DIALECT, ...cursor.dialect }
      hasher = new FilePrefixHasher(prefix.hash, start)
    }
  }
  if (dialect === undefined) {
    const head = await readHead(file)
    dialect = detectCsvDialect(head, settings.dialect, head.length === size)
  }

  const pending: PendingRecords = { fields: [], ends: [], reasons: new Map() }
  const reader = new CsvRecordReader(
    dialect.delimiter,
    start,
    collectInto(pending),
    (from, to) => hasher.bytes(from, to),
    start === 0,
  )

  let lineBase = lines
  let batchStart = start
  /** Cuts the first `count` pending records into a batch. */
  const batch = (count: number): ExtractedBatch => {
    const byteEnd = pending.ends[count - 1]!
    const cols = columns ?? []
    const bytes = hasher.bytes(batchStart, byteEnd)
    const rows = toCsvRows(bytes, takePending(pending, count), batchStart, lineBase)
    lines = lineBase + countNewlines(bytes)
    const meta: CsvBatchMeta = { file, columns: cols, lineBase, ...dialect }
    const out: ExtractedBatch = {
      payload: bytes.toString('utf8'),
      meta: { ...meta },
      rowCount: rows.length,
      cursorAfter: {
        byteOffset: byteEnd,
        line: lines,
        prefixSha256: hasher.digestAt(byteEnd),
        columns: cols,
        dialect,
      },
      parsed: rows,
    }
    lineBase = lines
    batchStart = byteEnd
    return out
  }
  /** The file's first record is its header: taken off the pending records, never a row. */
  const takeHeader = () => {
    if (columns !== undefined || pending.ends.length === 0) return
    const headerEnd = pending.ends[0]!
    const [fields] = takePending(pending, 1).fields
    columns = (fields ?? []).map((c) => c.trim())
    checkHeader(file, columns)
    lines += countNewlines(hasher.bytes(batchStart, headerEnd))
    lineBase = lines
    batchStart = headerEnd
  }

  try {
    for await (const chunk of createReadStream(file, { start, highWaterMark: READ_CHUNK_BYTES })) {
      hasher.push(chunk as Buffer)
      reader.write(chunk as Buffer)
      takeHeader()
      while (pending.ends.length >= settings.batchRows) {
        yield await confirm(batch(settings.batchRows))
        if (signal.aborted) return
      }
    }
    reader.end()
    takeHeader()
  } catch (error) {
    if (error instanceof CsvFileError) throw error
    throw new CsvFileError(
      'CSV_FILE_UNREADABLE',
      `cannot read ${file} after line ${lineBase}: ${String((error as Error).message)}`,
      { file, line: lineBase },
      error,
    )
  }
  // The batch that reaches the end of the file records its stats, confirmed after its last byte was
  // read: a later run that finds the same stats skips hashing the file again.
  while (pending.ends.length > 0) {
    const last = await confirm(batch(Math.min(settings.batchRows, pending.ends.length)))
    const end = (last.cursorAfter as unknown as CsvCursor).byteOffset
    yield end === stats.size ? { ...last, cursorAfter: { ...last.cursorAfter, fileStats: stats } } : last
  }

  /**
   * `next`, once the file is known to still hold its bytes where they were read. Its stats, taken
   * after they were read, say so when unchanged; after a change (an append, a touch, a rewrite, a
   * replacement) only its first bytes up to `next`'s end hashing as read do, and its last row ending
   * in a newline: a last row without one, in a file that changed while it was read, may be a write
   * still in progress (cut short now, whole a moment later). Otherwise the batch may join two
   * versions of the file (a row torn between them): the import stops before loading it.
   */
  async function confirm(next: ExtractedBatch): Promise<ExtractedBatch> {
    const now = await fileStats(file)
    const unchanged = sameFileStats(stats, now)
    changedWhileRead ||= !unchanged
    const whole = next.payload.endsWith('\n') || !changedWhileRead
    if (unchanged && whole) return next
    const { byteOffset, prefixSha256, line } = next.cursorAfter as unknown as CsvCursor
    if (whole && now.size >= byteOffset && (await hashFilePrefix(file, byteOffset)).digest === prefixSha256) {
      stats = now
      return next
    }
    throw new CsvFileError(
      'CSV_FILE_CHANGED',
      `${file} was rewritten while it was read: its bytes before line ${line} are not the ones read; ` +
        'what was read since the last committed batch is not loaded, and the next import reads the file as it is then',
      { file, line },
    )
  }
}

/** Reads a stored batch's text back into rows, exactly as the live import saw them. */
export function parseCsvBatch(payload: string, meta: CsvBatchMeta): CsvRows {
  const bytes = Buffer.from(payload, 'utf8')
  const pending: PendingRecords = { fields: [], ends: [], reasons: new Map() }
  const reader = new CsvRecordReader(
    meta.delimiter ?? DEFAULT_DIALECT.delimiter,
    0,
    collectInto(pending),
    (from, to) => bytes.subarray(from, to),
  )
  reader.write(bytes)
  reader.end()
  return toCsvRows(bytes, takePending(pending, pending.ends.length), 0, meta.lineBase)
}

function collectInto(pending: PendingRecords): CsvRecordSink {
  return {
    record(fields, end) {
      pending.fields.push(fields)
      pending.ends.push(end)
    },
    malformed(_start, end, reason) {
      pending.reasons.set(pending.fields.length, reason)
      pending.fields.push(undefined)
      pending.ends.push(end)
    },
  }
}

/** Removes and returns the first `count` pending records. */
function takePending(pending: PendingRecords, count: number): PendingRecords {
  const taken: PendingRecords = {
    fields: pending.fields.splice(0, count),
    ends: pending.ends.splice(0, count),
    reasons: new Map(),
  }
  if (pending.reasons.size > 0) {
    const rest = new Map<number, string>()
    for (const [index, reason] of pending.reasons) {
      if (index < count) taken.reasons.set(index, reason)
      else rest.set(index - count, reason)
    }
    pending.reasons = rest
  }
  return taken
}

/** The batch's records over its bytes, which start at byte `bytesStart` of the file. */
function toCsvRows(bytes: Buffer, records: PendingRecords, bytesStart: number, lineBase: number): CsvRows {
  const ends = bytesStart === 0 ? records.ends : records.ends.map((end) => end - bytesStart)
  return new CsvRows(new CsvRowLocator(bytes, ends, lineBase), records.fields, records.reasons)
}

function countNewlines(bytes: Buffer): number {
  let n = 0
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) n++
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

/** The file's first bytes, for detecting its dialect. */
async function readHead(file: string): Promise<Buffer> {
  const handle = await open(file, 'r')
  try {
    const buffer = Buffer.alloc(HEAD_BYTES)
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0)
    return buffer.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

/**
 * What says a file's bytes have not changed, as git's index trusts it: a write moves the change
 * time (ctime), which no tool can set back, and a replaced file has another inode.
 */
async function fileStats(file: string): Promise<CsvFileStats> {
  try {
    const info = await stat(file, { bigint: true })
    if (!info.isFile()) throw new Error('not a regular file')
    return {
      size: Number(info.size),
      mtimeNs: info.mtimeNs.toString(),
      ctimeNs: info.ctimeNs.toString(),
      ino: info.ino.toString(),
      dev: info.dev.toString(),
    }
  } catch (error) {
    throw new CsvFileError(
      'CSV_FILE_UNREADABLE',
      `cannot read ${file}: ${(error as Error).message}`,
      { file },
      error,
    )
  }
}
