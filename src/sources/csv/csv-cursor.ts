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
}

export function parseCsvCursor(cursor: StreamCursor | undefined): CsvCursor | undefined {
  if (!cursor) return undefined
  const { byteOffset, line, prefixSha256, columns, dialect } = cursor
  if (
    typeof byteOffset !== 'number' ||
    typeof line !== 'number' ||
    typeof prefixSha256 !== 'string' ||
    !Array.isArray(columns) ||
    !columns.every((c) => typeof c === 'string')
  ) {
    return undefined
  }
  return isDialect(dialect)
    ? { byteOffset, line, prefixSha256, columns, dialect }
    : { byteOffset, line, prefixSha256, columns }
}

function isDialect(value: unknown): value is CsvDialect {
  if (typeof value !== 'object' || value === null) return false
  const { delimiter, decimalMark } = value as Record<string, unknown>
  return (
    typeof delimiter === 'string' && delimiter.length === 1 && (decimalMark === '.' || decimalMark === ',')
  )
}
