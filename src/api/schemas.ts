import { Type, type Static, type TSchema } from 'typebox'
import { RECORD_SOURCES, SOURCE_NAMES, type ApiScope } from '../config.js'
import { RUN_STATUSES, RUN_TRIGGERS } from '../domain/run.js'

/** Shared pieces of the API's JSON shapes; snake_case on the wire. */

/**
 * `T | null` as a JSON type list (`type: [t, 'null']`), which validates and serializes faster than
 * `anyOf` and reads the same in the OpenAPI document.
 */
export const Nullable = <T extends TSchema & { type: string }>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] })

/** A string enum (one clear validation error, unlike a union of literals). */
export const StringEnum = <const T extends readonly string[]>(
  values: T,
  options: { default?: T[number]; description?: string } = {},
) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })

export const SourceParam = StringEnum(RECORD_SOURCES, { description: `one of ${RECORD_SOURCES.join(', ')}` })

/** A source that runs ETL (every source but `manual`). */
export const EtlSourceParam = StringEnum(SOURCE_NAMES, { description: `one of ${SOURCE_NAMES.join(', ')}` })

/** A JSON document stored as text, passed through as the object it holds. */
export const JsonObject = Type.Object({}, { additionalProperties: true })

export const Meta = Type.Object({
  request_id: Type.String(),
  api_latency_ms: Type.Number(),
})

export const Page = Type.Object({
  limit: Type.Integer(),
  next_cursor: Nullable(Type.String()),
  total: Type.Optional(Type.Integer()),
})

export const LimitParam = Type.Integer({
  minimum: 1,
  maximum: 1000,
  default: 100,
  description: 'page size, 1–1000',
})
/** A row id: bounded so that no value overflows PostgreSQL's bigint (a 500 otherwise). */
export const IdParam = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
export const CursorParam = Type.String({ maxLength: 512, description: 'next_cursor of the previous page' })
export const TimeParam = Type.String({
  maxLength: 40,
  description: 'ISO 8601 date or date-time (UTC when no zone), or Unix seconds/milliseconds',
})

/**
 * An operation's `security`: an API key or a bearer token (JWT or key) granting `scope` (OpenAPI 3.1
 * lets non-OAuth schemes list the scopes they need).
 */
export const scopeSecurity = (scope: ApiScope): Record<string, ApiScope[]>[] => [
  { bearer: [scope] },
  { apiKey: [scope] },
]

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    request_id: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), in: Type.String(), message: Type.String() })),
    ),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
)

export const RecordItem = Type.Object({
  id: Type.Integer(),
  asset_id: Type.String(),
  symbol: Type.String(),
  source: Type.String(),
  observed_at: Type.String({ format: 'date-time' }),
  price_usd: Nullable(Type.Number()),
  market_cap_usd: Nullable(Type.Number()),
  volume_24h_usd: Nullable(Type.Number()),
  change_24h_pct: Nullable(Type.Number()),
  rank: Nullable(Type.Integer()),
  circulating_supply: Nullable(Type.Number()),
  total_supply: Nullable(Type.Number()),
  max_supply: Nullable(Type.Number()),
  run_id: Nullable(Type.Integer()),
  raw_batch_id: Nullable(Type.Integer()),
  loaded_at: Type.String({ format: 'date-time' }),
})

/** One record on its own: with who posted it. */
export const RecordDetail = Type.Object({
  ...RecordItem.properties,
  added_by: Nullable(
    Type.String({
      description:
        'who posted it: key:<hash prefix> for an API key, jwt:<sub> for a token; null for ETL records',
    }),
  ),
})

/** One ETL run: how it was started, how it ended, and what it counted. */
export const RunItem = Type.Object({
  id: Nullable(Type.Integer({ description: 'null while queued: a worker has not started the run yet' })),
  job_id: Type.Optional(
    Type.String({ description: 'queue mode, while queued: the job that asks for the run' }),
  ),
  source: Type.String(),
  trigger: StringEnum(RUN_TRIGGERS),
  status: StringEnum([...RUN_STATUSES, 'queued'] as const),
  queued_at: Type.Optional(Type.String({ format: 'date-time' })),
  waiting_for: Type.Optional(Nullable(Type.String({ description: 'why a queued run waits' }))),
  started_at: Nullable(Type.String({ format: 'date-time' })),
  finished_at: Nullable(Type.String({ format: 'date-time' })),
  duration_ms: Nullable(Type.Integer()),
  batch_count: Type.Integer({ description: 'raw batches stored (pages, CSV chunks)' }),
  extracted: Type.Integer({ description: 'rows read from the upstream or file' }),
  loaded: Type.Integer({ description: 'records newly stored' }),
  unchanged: Type.Integer({ description: 'records already stored with the same values' }),
  rejected: Type.Integer({ description: 'rows refused (see /api/v1/rejections)' }),
  error_code: Nullable(Type.String()),
  error_message: Nullable(Type.String()),
  started_by: Nullable(
    Type.String({
      description:
        'who asked for the run: key:<hash prefix> (an API key), jwt:<sub> (a token) or cli; null for the schedule',
    }),
  ),
})
