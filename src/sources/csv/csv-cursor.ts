import type { StreamCursor } from '../source.js'

/**
 * Where a CSV import of one file stands: the bytes and lines consumed so far, the hash of exactly
 * those bytes (so an appended file is recognised and a rewritten one is not), and the header.
 */
export interface CsvCursor {
  readonly byteOffset: number
  readonly line: number
  readonly prefixSha256: string
  readonly columns: readonly string[]
}

export function parseCsvCursor(cursor: StreamCursor | undefined): CsvCursor | undefined {
  if (!cursor) return undefined
  const { byteOffset, line, prefixSha256, columns } = cursor
  if (
    typeof byteOffset !== 'number' ||
    typeof line !== 'number' ||
    typeof prefixSha256 !== 'string' ||
    !Array.isArray(columns) ||
    !columns.every((c) => typeof c === 'string')
  ) {
    return undefined
  }
  return { byteOffset, line, prefixSha256, columns }
}
