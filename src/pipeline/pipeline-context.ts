import { hostname } from 'node:os'
import type { Db } from '../db/database.js'
import type { Logger } from '../logger.js'
import type { SourceRegistry } from '../sources/registry.js'

/** Everything a pipeline use case needs, passed down explicitly by each door (API, CLI, jobs). */
export interface PipelineContext {
  readonly db: Db
  readonly log: Logger
  readonly sources: SourceRegistry
  /** A `running` run whose heartbeat is older than this belongs to a dead process. */
  readonly staleRunAfterMs: number
  /** Our clock; tests may pin it. */
  readonly now?: () => Date
}

export function nowIso(ctx: Pick<PipelineContext, 'now'>): string {
  return (ctx.now?.() ?? new Date()).toISOString()
}

/** `host:pid`, so a later process can tell whether a `running` run still has an owner. */
export const RUN_OWNER = `${hostname()}:${process.pid}`
