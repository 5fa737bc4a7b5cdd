import { AppError } from '../errors.js'

/** Socket-level failures: the server is down, unreachable, or dropped the connection. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
])
/** PostgreSQL: admin/crash shutdown, cannot connect now, too many connections. */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300'])
/** What pg and pg-pool say when a connection is lost or cannot be had in time. */
const PG_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Query read timeout',
]
/**
 * SQLite: the file cannot be opened, read or written, or another connection holds its lock past
 * the busy timeout (BUSY, LOCKED: it can be written again once that writer is done).
 */
const SQLITE_UNAVAILABLE = /^SQLITE_(CANTOPEN|IOERR|NOTADB|CORRUPT|FULL|READONLY|BUSY|LOCKED)/

/**
 * Whether `error` means the database itself is out of reach (as opposed to a bad query or a bug):
 * what the CLI reports as "database unreachable" and exits 3 for. Follows `cause` and
 * `AggregateError.errors`, but not into an `AppError` of another area.
 */
export function isDatabaseUnreachable(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false
  // An upstream's ECONNREFUSED is wrapped in a SourceHttpError: not the database's.
  if (error instanceof AppError) return error.code === 'DATABASE_ERROR'
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown }
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || PG_UNAVAILABLE.has(code) || code.startsWith('08')) return true
    if (SQLITE_UNAVAILABLE.test(code)) return true
  }
  if (typeof message === 'string') {
    if (PG_MESSAGES.some((m) => message.includes(m))) return true
    if (message === 'The database connection is not open') return true
  }
  if (error instanceof AggregateError && error.errors.some((e) => isDatabaseUnreachable(e, depth + 1)))
    return true
  return isDatabaseUnreachable(cause, depth + 1)
}
