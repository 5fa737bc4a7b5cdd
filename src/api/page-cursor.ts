import { parseTimestamp } from '../domain/parse-timestamp.js'
import { ValidationError } from '../errors.js'

/**
 * Opaque keyset cursors: the sort key of the last row served, base64url-encoded, tied to the sort
 * order so a cursor cannot be replayed against the other direction.
 */
export function encodeCursor(position: readonly (string | number)[], order: 'asc' | 'desc'): string {
  return Buffer.from(JSON.stringify([order, ...position])).toString('base64url')
}

/** For lists newest first by id: the id a `cursor` query value continues before. */
export function idCursorBefore(cursor: string | undefined): number | undefined {
  return cursor === undefined ? undefined : decodeCursor(cursor, 'desc', ['id'] as const)[0]
}

/**
 * For lists keyed by id, read with `limit + 1` rows: the page of `limit` rows, and the cursor to the
 * next page when there is one.
 */
export function pageById<T extends { readonly id: string | number }>(
  rows: readonly T[],
  limit: number,
  order: 'asc' | 'desc',
): { readonly rows: readonly T[]; readonly page: { limit: number; next_cursor: string | null } } {
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return {
    rows: page,
    page: { limit, next_cursor: rows.length > limit && last ? encodeCursor([last.id], order) : null },
  }
}

/** `pageById` for lists newest first. */
export function pageNewestFirst<T extends { readonly id: number }>(rows: readonly T[], limit: number) {
  return pageById(rows, limit, 'desc')
}

/** What each position of a cursor holds: an ISO 8601 UTC time as we print it, a row id, or a text key (an asset id). */
export type CursorPart = 'time' | 'id' | 'key'

type CursorValues<T extends readonly CursorPart[]> = { [K in keyof T]: T[K] extends 'id' ? number : string }

const IS_PART: Readonly<Record<CursorPart, (value: unknown) => boolean>> = {
  // Checked here, not by the database: a forged value would otherwise reach SQL (a 500 on PostgreSQL).
  time: (value) => typeof value === 'string' && parseTimestamp(value) === value,
  id: (value) => Number.isSafeInteger(value) && (value as number) >= 0,
  key: (value) =>
    typeof value === 'string' && value.length > 0 && value.length <= 200 && [...value].every((c) => c >= ' '),
}

/** Decodes a cursor made by `encodeCursor` with the same shape, or throws a 400 naming `cursor`. */
export function decodeCursor<T extends readonly CursorPart[]>(
  cursor: string,
  order: 'asc' | 'desc',
  shape: T,
): CursorValues<T> {
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
    !shape.every((part, i) => IS_PART[part](parsed[i + 1]))
  ) {
    throw new ValidationError(
      'cursor',
      'cursor is not one this endpoint issued for this order; start again without it',
    )
  }
  return parsed.slice(1) as CursorValues<T>
}
