import type { DetectedSchemaChange } from './domain/schema-change.js'

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

/** An asset id that names no asset; when identity remaps moved its aliases away, the message says where. */
export class AssetNotFoundError extends AppError {
  readonly code = 'ASSET_NOT_FOUND'
  constructor(
    readonly assetId: string,
    readonly movedTo: readonly string[] = [],
  ) {
    super(
      movedTo.length === 0
        ? `asset ${assetId} does not exist`
        : `asset ${assetId} no longer exists: identity remaps moved its aliases to ${movedTo.join(', ')}`,
      { context: { assetId, movedTo } },
    )
  }
}

/** Asset ids a backfill asked for that its upstream does not know: nothing is read for any of them. */
export class BackfillAssetUnknownError extends AppError {
  readonly code = 'BACKFILL_ASSET_UNKNOWN'
  constructor(
    readonly source: string,
    readonly ids: readonly string[],
  ) {
    super(`${source} does not know the asset id(s) ${ids.join(', ')}; use the upstream's own ids`, {
      context: { source, ids },
    })
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

/** A backfill of this source is going (one at a time per source, beside its snapshot runs). */
export class BackfillAlreadyRunningError extends RunAlreadyRunningError {
  constructor(source: string) {
    super(source)
    this.message = `a backfill of ${source} is already in progress`
  }
}

/** Queue mode: a run of this source was asked for and is waiting for a worker. */
export class RunAlreadyQueuedError extends AppError {
  readonly code = 'RUN_ALREADY_QUEUED'
  constructor(
    readonly source: string,
    readonly jobId: string,
  ) {
    super(`a run of ${source} is already queued (job ${jobId})`, { context: { source, jobId } })
    this.retryable = true
  }
}

/** Queue mode: Redis cannot be reached, so no run can be asked for; reads are unaffected. */
export class QueueUnavailableError extends AppError {
  readonly code = 'QUEUE_UNAVAILABLE'
  constructor(cause: unknown) {
    super(`the job queue (Redis) is unreachable: ${errorMessage(cause)}; try again shortly`, { cause })
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

/** How an upstream call failed; the codes a run record and an operator see. */
export const SOURCE_HTTP_CODES = {
  /** 429 after every retry, or a Retry-After longer than the wait budget. */
  SOURCE_RATE_LIMITED: true,
  /** 5xx, a reset connection or a refused one, after every retry. */
  SOURCE_UNAVAILABLE: true,
  /** No connection or no answer in time, after every retry. */
  SOURCE_TIMEOUT: true,
  /** A 200 whose body is not the JSON it should be (truncated, garbage), after every retry. */
  SOURCE_BAD_RESPONSE: true,
  /** 401 or 403: a missing, wrong or revoked key. No retry can fix it. */
  SOURCE_AUTH_FAILED: false,
  /** 402: the plan does not allow this, or its quota is spent. No retry can fix it. */
  SOURCE_PLAN_REQUIRED: false,
  /** Any other 4xx: the request itself is wrong (a key on the wrong host, an unknown id). */
  SOURCE_REQUEST_REJECTED: false,
} as const
export type SourceHttpCode = keyof typeof SOURCE_HTTP_CODES

/** An upstream call that did not give a usable answer; `retryable` says whether a later run may succeed. */
export class SourceHttpError extends AppError {
  readonly code: SourceHttpCode
  constructor(
    code: SourceHttpCode,
    message: string,
    readonly details: {
      readonly source: string
      readonly status?: number
      readonly upstreamCode?: string
      readonly retryAfterMs?: number
      readonly attempts?: number
    },
    cause?: unknown,
  ) {
    super(message, { context: { ...details }, cause })
    this.code = code
    this.retryable = SOURCE_HTTP_CODES[code]
  }
}

/** A payload whose shape broke its declared schema: that batch fails and is kept raw for replay. */
export class SchemaDriftError extends AppError {
  readonly code = 'SOURCE_SCHEMA_DRIFT'
  constructor(readonly changes: readonly DetectedSchemaChange[]) {
    const breaking = changes.filter((c) => c.change !== 'added')
    super(`the payload no longer fits its schema: ${breaking.map((c) => c.detail.message).join('; ')}`, {
      context: { fields: breaking.map((c) => c.field) },
    })
  }
}

export class CsvFileError extends AppError {
  readonly code: 'CSV_FILE_UNREADABLE' | 'CSV_HEADER_INVALID' | 'CSV_FILE_CHANGED'
  constructor(
    code: 'CSV_FILE_UNREADABLE' | 'CSV_HEADER_INVALID' | 'CSV_FILE_CHANGED',
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
