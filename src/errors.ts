/**
 * One error base for everything coinpipe expects to go wrong. Anything that is not an
 * `AppError` is a bug and is logged with its stack.
 */
export abstract class AppError extends Error {
  abstract readonly code: string
  /** Whether trying the same thing again later can succeed. */
  retryable = false
  readonly context: Readonly<Record<string, unknown>>

  constructor(message: string, opts: { context?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.context = opts.context ?? {}
  }
}

/** Configuration that cannot start the process; the message names every bad variable. */
export class ConfigError extends AppError {
  readonly code = 'CONFIG_INVALID'
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, { context: { problems } })
  }
}

export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND'
  constructor(what: string, id: string | number) {
    super(`${what} ${id} does not exist`, { context: { what, id } })
  }
}

/** A request or input that can never succeed as given. */
export class ValidationError extends AppError {
  readonly code = 'VALIDATION_FAILED'
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message, { context: { field } })
  }
}

/** The same natural key already holds other values. */
export class RecordConflictError extends AppError {
  readonly code = 'RECORD_CONFLICT'
  constructor(message: string, context: Record<string, unknown>) {
    super(message, { context })
  }
}

/** A run of this source is already going on somewhere. */
export class RunAlreadyRunningError extends AppError {
  readonly code = 'RUN_ALREADY_RUNNING'
  constructor(readonly source: string) {
    super(`a run of ${source} is already in progress`, { context: { source } })
    this.retryable = true
  }
}

/** The process is shutting down and starts no new runs. */
export class SchedulerStoppedError extends AppError {
  readonly code = 'SCHEDULER_STOPPED'
  constructor(readonly source: string) {
    super(`not starting a run of ${source}: coinpipe is shutting down`, { context: { source } })
    this.retryable = true
  }
}

export class SourceUnavailableError extends AppError {
  readonly code = 'SOURCE_UNKNOWN'
  constructor(
    readonly source: string,
    available: readonly string[],
  ) {
    super(`unknown source "${source}"; available: ${available.join(', ')}`, { context: { source } })
  }
}

export class CsvFileError extends AppError {
  readonly code: 'CSV_FILE_UNREADABLE' | 'CSV_HEADER_INVALID'
  constructor(
    code: 'CSV_FILE_UNREADABLE' | 'CSV_HEADER_INVALID',
    message: string,
    context: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(message, { context, cause })
    this.code = code
  }
}

export class DatabaseError extends AppError {
  readonly code = 'DATABASE_ERROR'
  constructor(message: string, cause: unknown) {
    super(message, { cause })
    this.retryable = true
  }
}

/** Code of any thrown value, for run records and logs. */
export function errorCode(error: unknown): string {
  return error instanceof AppError ? error.code : 'INTERNAL'
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
