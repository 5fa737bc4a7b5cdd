import { AppError } from '../errors.js'

/** Distinct exit codes, so scripts can tell what went wrong without parsing text. */
export const EXIT = {
  OK: 0,
  /** A run or replay ended `failed`. */
  RUN_FAILED: 1,
  /** Bad configuration or command-line usage. */
  CONFIG: 2,
  /** The database cannot be reached or opened. */
  DATABASE: 3,
  /** An input the command was given does not exist (file, source, batch). */
  INPUT: 4,
  /** A bug: something nobody planned for. */
  INTERNAL: 70,
} as const

/** What each exit code means, as `coinpipe --help` lists them. */
export const EXIT_CODE_MEANINGS: Readonly<Record<number, string>> = {
  [EXIT.OK]: 'done (every run succeeded, or was partial: see its error code)',
  [EXIT.RUN_FAILED]: 'a run or a replay failed',
  [EXIT.CONFIG]: 'bad configuration or command-line usage',
  [EXIT.DATABASE]: 'the database cannot be reached, opened or migrated',
  [EXIT.INPUT]: 'a named input does not exist (file, source, batch, asset), or an output cannot be written',
  [EXIT.INTERNAL]: 'an unexpected error: a bug, please report it',
}

const EXIT_BY_ERROR_CODE: Readonly<Record<string, number>> = {
  CONFIG_INVALID: EXIT.CONFIG,
  SOURCE_UNKNOWN: EXIT.INPUT,
  NOT_FOUND: EXIT.INPUT,
  ASSET_NOT_FOUND: EXIT.INPUT,
  CSV_FILE_UNREADABLE: EXIT.INPUT,
  DATABASE_ERROR: EXIT.DATABASE,
}

/** The exit code for a failure a command did not handle itself: an `AppError` is expected, anything else a bug. */
export function exitCodeFor(error: unknown): number {
  if (!(error instanceof AppError)) return EXIT.INTERNAL
  return EXIT_BY_ERROR_CODE[error.code] ?? EXIT.RUN_FAILED
}
