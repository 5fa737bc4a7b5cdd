import { identitySettingsFromConfig } from '../identity/identity-settings.js'
import { sql } from 'kysely'
import { loadConfig, type Config } from '../config.js'
import { migrateToLatest, openDatabase, type Db } from '../db/database.js'
import { AppError, ConfigError } from '../errors.js'
import { createLogger, type Logger } from '../logger.js'
import { redactUrl } from '../redact-secrets.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { createSourceRegistry } from '../sources/registry.js'
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
  // Commands that print a result keep stdout for it; logs go to stderr.
  const log = createLogger(opts.logLevel ?? config.logLevel, {
    fd: opts.logTo === 'stdout' ? 1 : 2,
    destination: opts.logDestination,
  })
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
  const pipeline: PipelineContext = {
    db,
    log,
    sources: createSourceRegistry(config, log, metrics),
    metrics,
    staleRunAfterMs: config.etl.staleRunAfterMs,
    identity,
  }
  const close = async () => {
    await pipeline.sources.close()
    await db.close()
  }
  return { config, log, pipeline, migrated, close }
}

function describe(error: unknown): string {
  if (error instanceof AppError || !(error instanceof Error))
    return String(error instanceof Error ? error.message : error)
  const code = (error as NodeJS.ErrnoException).code
  if (error instanceof AggregateError) return `${code ?? 'connection failed'}`
  return error.message + (code && !error.message.includes(code) ? ` (${code})` : '')
}
