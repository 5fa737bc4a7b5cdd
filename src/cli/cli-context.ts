import { sql } from 'kysely'
import { loadConfig, type Config } from '../config.js'
import { migrateToLatest, openDatabase, type Db } from '../db/database.js'
import { AppError, ConfigError } from '../errors.js'
import { createLogger, type Logger } from '../logger.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { createSourceRegistry } from '../sources/registry.js'
import { EXIT } from './exit-codes.js'

/** A failure the CLI explains in one sentence and maps to an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

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
  opts: { logLevel?: string; logTo?: 'stdout' | 'stderr' } = {},
): Promise<CliContext> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.CONFIG)
    throw error
  }
  // Commands that print a result keep stdout for it; logs go to stderr.
  const log = createLogger(opts.logLevel ?? config.logLevel, { fd: opts.logTo === 'stdout' ? 1 : 2 })
  let db: Db | undefined
  let migrated: string[]
  try {
    db = openDatabase(config.database)
    await sql`select 1`.execute(db.kysely)
    migrated = await migrateToLatest(db)
  } catch (error) {
    await db?.close().catch(() => undefined)
    const where = config.database.kind === 'sqlite' ? config.database.path : 'PostgreSQL'
    throw new CliError(
      `cannot open the ${config.database.kind} database (${where}): ${describe(error)}`,
      EXIT.DATABASE,
    )
  }
  const pipeline: PipelineContext = {
    db,
    log,
    sources: createSourceRegistry(config, log),
    staleRunAfterMs: config.etl.staleRunAfterMs,
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
