import { parseTimestamp } from '../domain/parse-timestamp.js'
import { ValidationError } from '../errors.js'

/**
 * Cursor parts are joined by a control character no part can hold (a time or an id never does, a
 * text key is checked to hold none), each tagged `n` (number) or `s` (text), so a cursor is built
 * and read without a JSON round trip and a number never passes for a key.
 */
const SEPARATOR = '\u0001'

/**
 * Opaque keyset cursors: the sort key of the last row served, base64url-encoded, tied to the sort
 * order so a cursor cannot be replayed against the other direction.
 */
export function encodeCursor(position: readonly (string | number)[], order: 'asc' | 'desc'): string {
  let text = order
  for (const part of position) text += `${SEPARATOR}${typeof part === 'number' ? 'n' : 's'}${part}`
  return Buffer.from(text).toString('base64url')
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

/** Each part read back from its tagged text (`n42`, `s…`), or undefined when it is not one this API issued. */
const READ_PART: Readonly<Record<CursorPart, (tagged: string) => string | number | undefined>> = {
  // Checked here, not by the database: a forged value would otherwise reach SQL (a 500 on PostgreSQL).
  time: (tagged) => {
    const text = tagged.slice(1)
    return tagged[0] === 's' && parseTimestamp(text) === text ? text : undefined
  },
  id: (tagged) => {
    const text = tagged.slice(1)
    const id = tagged[0] === 'n' && /^\d{1,16}$/.test(text) ? Number(text) : NaN
    return Number.isSafeInteger(id) ? id : undefined
  },
  key: (tagged) => {
    const text = tagged.slice(1)
    return tagged[0] === 's' && text.length > 0 && text.length <= 200 && [...text].every((c) => c >= ' ')
      ? text
      : undefined
  },
}

/** Decodes a cursor made by `encodeCursor` with the same shape, or throws a 400 naming `cursor`. */
export function decodeCursor<T extends readonly CursorPart[]>(
  cursor: string,
  order: 'asc' | 'desc',
  shape: T,
): CursorValues<T> {
  const [given, ...texts] = Buffer.from(cursor, 'base64url').toString('utf8').split(SEPARATOR)
  const values = texts.length === shape.length ? shape.map((part, i) => READ_PART[part](texts[i]!)) : []
  if (given !== order || values.length !== shape.length || values.includes(undefined)) {
    throw new ValidationError(
      'cursor',
      'cursor is not one this endpoint issued for this order; start again without it',
    )
  }
  return values as CursorValues<T>
}
