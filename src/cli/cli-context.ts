import { identitySettingsFromConfig } from '../identity/identity-settings.js'
import type { Redis } from 'ioredis'
import { sql } from 'kysely'
import { loadConfig, type Config, type RateLimit } from '../config.js'
import { migrateToLatest, openDatabase, type Db } from '../db/database.js'
import { AppError, ConfigError } from '../errors.js'
import { createLogger, type Logger } from '../logger.js'
import { redactUrl } from '../redact-secrets.js'
import { RUN_OWNER, type PipelineContext } from '../pipeline/pipeline-context.js'
import { createSourceRegistry, type LiveSourceName } from '../sources/registry.js'
import { reportTracingProblemsTo } from '../telemetry/tracing.js'
import { CliError } from './cli-error.js'
import { EXIT } from './exit-codes.js'

export interface CliContext {
  readonly config: Config
  readonly log: Logger
  readonly pipeline: PipelineContext
  /** Migrations this start applied. */
  readonly migrated: readonly string[]
  readonly close: () => Promise<void>
}

/** Config, logger and a migrated database: what every command but `--help` needs. */
export async function openCliContext(
  opts: {
    logLevel?: string
    logTo?: 'stdout' | 'stderr'
    /** JSON log lines go here instead (the `etl run` progress display prints them above its line). */
    logDestination?: NodeJS.WritableStream
    /** Count runs, upstream calls and queries for `GET /metrics` (serve). */
    metrics?: boolean
    /** Fails with this message, before the database opens, when REDIS_URL is not set. */
    redisRequired?: string
  } = {},
): Promise<CliContext> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    // One line, naming every bad variable (and never echoing a secret's value).
    if (error instanceof ConfigError)
      throw new CliError(`invalid configuration: ${error.problems.join('; ')}`, EXIT.CONFIG)
    throw error
  }
  if (opts.redisRequired !== undefined && config.redisUrl === undefined)
    throw new CliError(opts.redisRequired, EXIT.CONFIG)
  // Commands that print a result keep stdout for it; logs go to stderr.
  const log = createLogger(opts.logLevel ?? config.logLevel, {
    fd: opts.logTo === 'stdout' ? 1 : 2,
    destination: opts.logDestination,
  })
  reportTracingProblemsTo(log)
  // The identity tables are configuration too: a bad override file stops the command before the database opens.
  const identity = await identitySettingsFromConfig(config.identity)
  let db: Db | undefined
  let migrated: string[]
  let step: 'open' | 'migrate' = 'open'
  try {
    db = await openDatabase(config.database)
    await sql`select 1`.execute(db.kysely)
    step = 'migrate'
    migrated = await migrateToLatest(db)
  } catch (error) {
    await db?.close().catch(() => undefined)
    const which =
      config.database.kind === 'sqlite'
        ? `the SQLite database ${config.database.path}`
        : `the PostgreSQL database ${redactUrl(config.database.url)}`
    throw new CliError(
      step === 'migrate'
        ? `cannot migrate ${which}: ${describe(error)}`
        : config.database.kind === 'sqlite'
          ? `cannot open ${which}: ${describe(error)} (check DATABASE_URL)`
          : `cannot reach ${which}: ${describe(error)} (check DATABASE_URL and that the server is up)`,
      EXIT.DATABASE,
    )
  }
  // prom-client only where metrics are served.
  const metrics = opts.metrics ? (await import('../metrics/metrics.js')).createMetrics({ db }) : undefined
  // Queue mode: every process that calls an upstream paces itself by one limit kept in Redis.
  const shared = config.redisUrl
    ? await sharedOutboundLimits(config.redisUrl, config.queue.prefix)
    : undefined
  const pipeline: PipelineContext = {
    db,
    log,
    sources: createSourceRegistry(config, log, metrics, { limiterFor: shared?.limiterFor }),
    metrics,
    staleRunAfterMs: config.etl.staleRunAfterMs,
    identity,
  }
  const close = async () => {
    await pipeline.sources.close()
    shared?.close()
    await db.close()
  }
  return { config, log, pipeline, migrated, close }
}

/**
 * The Redis outbound limiters of queue mode; their connection opens when a live source is first
 * used, so a command that calls no upstream (serve in queue mode, a CSV import) never opens it.
 */
async function sharedOutboundLimits(url: string, prefix: string) {
  const { createRedis } = await import('../redis/redis-connection.js')
  const { createRedisOutboundLimiter } = await import('../redis/redis-outbound-limiter.js')
  let redis: Redis | undefined
  const limiterFor = (source: LiveSourceName, limit: RateLimit) => {
    // Fails fast while Redis is away, as the limiter needs (it retries, then fails the call).
    redis ??= createRedis(url, 'producer', `coinpipe ${RUN_OWNER} upstream limits`)
    return createRedisOutboundLimiter(redis, { prefix, source, limit })
  }
  return { limiterFor, close: () => redis?.disconnect() }
}

function describe(error: unknown): string {
  if (error instanceof AppError || !(error instanceof Error))
    return String(error instanceof Error ? error.message : error)
  const code = (error as NodeJS.ErrnoException).code
  if (error instanceof AggregateError) return `${code ?? 'connection failed'}`
  return error.message + (code && !error.message.includes(code) ? ` (${code})` : '')
}
