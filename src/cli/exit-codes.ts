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
