import { EXIT_CODE_MEANINGS } from './exit-codes.js'

/** The text `--help` shows after each command's options: examples, the environment that matters, exit codes. */

function section(title: string, rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length))
  return [`${title}:`, ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)].join('\n')
}

const EXIT_CODES = section(
  'Exit codes',
  Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => [code, meaning] as const),
)

const DATABASE_URL = [
  'DATABASE_URL',
  'sqlite:<path> (default sqlite:data/coinpipe.db), sqlite::memory: or postgres://user:password@host:5432/db',
] as const
const LOG_LEVEL = ['LOG_LEVEL', 'fatal, error, warn, info (default), debug, trace or silent'] as const
const SOURCES = ['SOURCES', 'enabled sources (default coingecko,coinpaprika,csv)'] as const
const CSV = ['CSV_PATHS', 'CSV files or globs the csv source imports (default the bundled sample)'] as const
const KEYS = [
  'COINGECKO_API_KEY, COINPAPRIKA_API_KEY',
  'upstream keys (optional; never logged or stored)',
] as const

const REDIS_URL = ['REDIS_URL', 'queue mode: redis://[:password@]host:6379[/db] or rediss://…'] as const
const QUEUE_PREFIX = [
  'QUEUE_PREFIX',
  'prefix of every Redis key, one per deployment (default coinpipe)',
] as const

export const PROGRAM_HELP = `
Examples:
  $ coinpipe serve                              API, docs and dashboard on http://127.0.0.1:8080
  $ coinpipe etl run                            run every enabled source now
  $ coinpipe etl run --file prices.csv --json   import one CSV file, print a JSON summary
  $ coinpipe export --format parquet --asset btc --from 2024-01-01 --to 2025-01-01 --out btc.parquet
  $ DATABASE_URL=postgres://app@db:5432/coinpipe coinpipe migrate

${section('Environment (also read from ./.env; the full list is in README.md and .env.example)', [
  DATABASE_URL,
  ['HOST, PORT', 'where serve listens (default 127.0.0.1, 8080)'],
  SOURCES,
  CSV,
  KEYS,
  ['ETL_SCHEDULE', 'cron for scheduled runs, or off (default */10 * * * *)'],
  ['API_KEYS', 'comma-separated keys for write requests'],
  LOG_LEVEL,
  ['OTEL_EXPORTER_OTLP_ENDPOINT', 'send traces over OTLP/HTTP, e.g. http://localhost:4318 (default: off)'],
])}

${EXIT_CODES}
`

export const SERVE_HELP = `
Logs are JSON lines on stdout (pretty on a terminal). SIGTERM or SIGINT (Ctrl-C) stops taking
requests and schedules, lets the batch in flight commit (its run ends partial, RUN_CANCELLED) and
closes the database; the next run resumes from the checkpoint. GET /health answers 503 while the
database is unreachable, and the server recovers by itself when it is back.

With REDIS_URL set (queue mode) serve runs no ETL itself: its schedule and POST /api/v1/runs put
jobs on the queue for \`coinpipe worker\` processes, and any number of replicas share one schedule
and one inbound rate limit. While Redis is down reads go on, POST /api/v1/runs answers 503 and
/health says degraded.

Examples:
  $ coinpipe serve
  $ PORT=9000 ETL_SCHEDULE=off coinpipe serve
  $ DATABASE_URL=postgres://app:secret@db:5432/coinpipe API_KEYS=$(cat key.txt) coinpipe serve

${section('Environment', [
  DATABASE_URL,
  ['HOST, PORT', 'where the API listens (default 127.0.0.1, 8080)'],
  SOURCES,
  ['ETL_SCHEDULE, ETL_SCHEDULE_<SOURCE>', 'cron, or off (default */10 * * * *)'],
  ['ETL_RUN_ON_START', 'run every enabled source once at start (default true)'],
  ['API_KEYS', 'comma-separated keys (16+ characters) for writes; key:scope+scope limits one'],
  ['AUTH_JWKS_URL, AUTH_JWT_SECRET', 'accept JWT bearer tokens (an OIDC JWKS, or an HS256 secret)'],
  ['API_READ_KEYS_REQUIRED', 'require a key or token for reads too (default false)'],
  REDIS_URL,
  QUEUE_PREFIX,
  KEYS,
  LOG_LEVEL,
])}
`

export const MIGRATE_HELP = `
Examples:
  $ coinpipe migrate
  $ DATABASE_URL=postgres://app@db:5432/coinpipe coinpipe migrate

${section('Environment', [DATABASE_URL])}
`

export const WORKER_HELP = `
Takes ETL jobs that \`serve\` (its schedule, POST /api/v1/runs) and \`etl run --enqueue\` put on the
queue in Redis, and runs them against the database: one run per source across every worker, each
upstream paced by one rate limit shared by the whole cluster. A worker killed mid-job loses
nothing: after QUEUE_LEASE_MS another takes the job, marks the run left behind RUN_INTERRUPTED and
resumes from its checkpoint. SIGTERM or SIGINT lets the batch in flight commit, hands the job
back to the queue, and exits.

Examples:
  $ REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL=postgres://app@db:5432/coinpipe coinpipe worker
  $ coinpipe worker --concurrency 1                   one job at a time

${section('Environment', [
  REDIS_URL,
  DATABASE_URL,
  QUEUE_PREFIX,
  ['QUEUE_LEASE_MS', "how soon a dead worker's job moves to another (default 30000)"],
  ['COINGECKO_RATE_LIMIT, COINPAPRIKA_RATE_LIMIT', 'calls/window for the whole cluster (e.g. 30/60s)'],
  KEYS,
  LOG_LEVEL,
])}

${EXIT_CODES}
`

export const ETL_HELP = `
Examples:
  $ coinpipe etl run --source coingecko
  $ coinpipe etl replay --failed
  $ coinpipe etl reset --source csv --stream prices.csv
`

export const ETL_RUN_HELP = `
On a terminal a progress line on stderr shows rows, rows/s, batches and rejections per source;
a summary table follows on stdout (JSON with --json, and no progress line). Ctrl-C stops after the
batch in flight has committed: the run ends partial (RUN_CANCELLED) and the next run resumes there;
press it again to quit at once. Exits 0 when every run succeeded or was partial, 1 when one failed.

In queue mode (REDIS_URL set) a run here holds its source's lease, so it never runs beside a
worker; --enqueue instead puts one job per source on the queue, waits for the workers to run them
and prints the same summary (Ctrl-C stops waiting; the jobs run on).

Examples:
  $ coinpipe etl run                                  every enabled source
  $ coinpipe etl run -s coingecko -s coinpaprika      two live sources
  $ coinpipe etl run --file prices.csv --file more.csv
  $ coinpipe etl run --source csv --json | jq '.runs[] | {source, status, loaded}'
  $ REDIS_URL=redis://127.0.0.1:6379 coinpipe etl run --enqueue -s coingecko

${section('Environment', [
  DATABASE_URL,
  SOURCES,
  CSV,
  ['CSV_BATCH_ROWS', 'rows per batch, one transaction each (default 20000)'],
  KEYS,
  ['COINGECKO_BASE_URL, COINPAPRIKA_BASE_URL', 'upstream hosts (a local fake server, say)'],
  LOG_LEVEL,
])}

${EXIT_CODES}
`

export const ETL_BACKFILL_HELP = `
Each asset's range is read in windows at the finest granularity the upstream gives without a paid
history plan: 5-minute points for the last day, and before it hourly (CoinGecko, 90-day windows) or
daily (CoinPaprika free; hourly with a key). Every window is stored raw as a batch with its own
checkpoint: Ctrl-C (or a crash) loses nothing, the same command resumes with the first window not
yet committed, and a repeated backfill reads only what it does not hold yet.

A window beyond the plan's reach (CoinGecko Demo and CoinPaprika free: the last 365 days) is
refused upstream with error 10012: the backfill ends partial with HISTORY_OUT_OF_RANGE, naming the
range it could not read, and does not retry it. Backfill calls yield the source's rate limit to
the scheduled runs (shared through Redis in queue mode), so a long backfill never starves them.

Examples:
  $ coinpipe etl backfill -s coingecko -a bitcoin -a ethereum --from 2026-01-01
  $ coinpipe etl backfill -s coinpaprika --top 100 --from 2026-06-01 --to 2026-07-01 --json

${section('Environment', [DATABASE_URL, KEYS, ['COINGECKO_BASE_URL, COINPAPRIKA_BASE_URL', 'upstream hosts (a local fake server, say)'], LOG_LEVEL])}

${EXIT_CODES}
`

export const ETL_REPLAY_HELP = `
Re-runs transform and load over raw payloads already stored, after a fix (a release, or a
*_FIELD_ALIASES setting for a renamed field). Each replay is a run of its own (trigger replay).

Examples:
  $ coinpipe etl replay --failed
  $ coinpipe etl replay --batch 42 --batch 43 --json

${section('Environment', [
  DATABASE_URL,
  ['COINGECKO_FIELD_ALIASES, COINPAPRIKA_FIELD_ALIASES', 'upstream_field=declared_field,…'],
])}
`

export const ETL_RESET_HELP = `
Examples:
  $ coinpipe etl reset --source coingecko                      every stream of coingecko
  $ coinpipe etl reset --source csv --stream data/prices.csv   one CSV file, read again from the top

Records already loaded stay; reading the same rows again finds them unchanged.

${section('Environment', [DATABASE_URL])}
`

export const EXPORT_HELP = `
Writes the records of the given assets (each in turn, oldest first; every asset without --asset)
observed in [--from, --to) to --out, read from the database in keyset chunks so memory stays flat
whatever the number. The file is written as <out>.partial and renamed when complete: a failed
export leaves no file that looks whole. A one-line summary (records, file, bytes) goes to stdout.

csv: the columns and values of GET /api/v1/records (snake_case header, numbers as JSON prints
them, an empty field for null). parquet: the same columns; market values DOUBLE, times INT64
TIMESTAMP(MILLIS, UTC), ids INT64, rank INT32; snappy-compressed row groups of 100,000 rows.

Examples:
  $ coinpipe export --format csv --asset btc --asset eth --from 2024-01-01 --to 2024-02-01 --out jan.csv
  $ coinpipe export --format parquet --source coingecko --out coingecko.parquet

${section('Environment', [DATABASE_URL, LOG_LEVEL])}

${EXIT_CODES}
`
