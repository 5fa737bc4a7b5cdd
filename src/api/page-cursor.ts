import { ValidationError } from '../errors.js'

/**
 * Opaque keyset cursors: the sort key of the last row served, base64url-encoded, tied to the sort
 * order so a cursor cannot be replayed against the other direction.
 */
export function encodeCursor(position: readonly (string | number)[], order: 'asc' | 'desc'): string {
  return Buffer.from(JSON.stringify([order, ...position])).toString('base64url')
}

/** Decodes a cursor made by `encodeCursor` with the same shape, or throws a 400 naming `cursor`. */
export function decodeCursor<T extends readonly ('string' | 'number')[]>(
  cursor: string,
  order: 'asc' | 'desc',
  shape: T,
): { [K in keyof T]: T[K] extends 'string' ? string : number } {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    parsed = undefined
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== shape.length + 1 ||
    parsed[0] !== order ||
    !shape.every((type, i) => typeof parsed[i + 1] === type)
  ) {
    throw new ValidationError(
      'cursor',
      'cursor is not one this endpoint issued for this order; start again without it',
    )
  }
  return parsed.slice(1) as { [K in keyof T]: T[K] extends 'string' ? string : number }
}
