import type { StreamCursor } from '../source.js'
import type { CsvDialect } from './csv-dialect.js'

/**
 * Where a CSV import of one file stands: the bytes and lines consumed so far, the hash of exactly
 * those bytes (so an appended file is recognised and a rewritten one is not), and the header.
 */
export interface CsvCursor {
  readonly byteOffset: number
  readonly line: number
  readonly prefixSha256: string
  readonly columns: readonly string[]
  /** How the file is written, as detected when its import began; absent in cursors saved before dialects. */
  readonly dialect?: CsvDialect
  /** The file's stats when its last byte was read, when it did not change while being read. */
  readonly fileStats?: CsvFileStats
}

/** A file's identity and change times (nanoseconds, as text: they pass 2^53). */
export interface CsvFileStats {
  readonly size: number
  readonly mtimeNs: string
  readonly ctimeNs: string
  readonly ino: string
  readonly dev: string
}

export function sameFileStats(a: CsvFileStats, b: CsvFileStats): boolean {
  return (
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.ino === b.ino &&
    a.dev === b.dev
  )
}

export function parseCsvCursor(cursor: StreamCursor | undefined): CsvCursor | undefined {
  if (!cursor) return undefined
  const { byteOffset, line, prefixSha256, columns, dialect, fileStats } = cursor
  if (
    typeof byteOffset !== 'number' ||
    typeof line !== 'number' ||
    typeof prefixSha256 !== 'string' ||
    !Array.isArray(columns) ||
    !columns.every((c) => typeof c === 'string')
  ) {
    return undefined
  }
  return {
    byteOffset,
    line,
    prefixSha256,
    columns,
    ...(isDialect(dialect) ? { dialect } : {}),
    ...(isFileStats(fileStats) ? { fileStats } : {}),
  }
}

function isFileStats(value: unknown): value is CsvFileStats {
  if (typeof value !== 'object' || value === null) return false
  const { size, mtimeNs, ctimeNs, ino, dev } = value as Record<string, unknown>
  return (
    typeof size === 'number' &&
    [mtimeNs, ctimeNs, ino, dev].every((part) => typeof part === 'string' && /^\d+$/.test(part))
  )
}

function isDialect(value: unknown): value is CsvDialect {
  if (typeof value !== 'object' || value === null) return false
  const { delimiter, decimalMark } = value as Record<string, unknown>
  return (
    typeof delimiter === 'string' && delimiter.length === 1 && (decimalMark === '.' || decimalMark === ',')
  )
}
