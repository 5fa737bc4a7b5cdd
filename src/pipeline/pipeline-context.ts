import { hostname } from 'node:os'
import type { Db } from '../db/database.js'
import { defaultIdentitySettings, type IdentitySettings } from '../identity/identity-settings.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { SourceRegistry } from '../sources/registry.js'

/** Everything a pipeline use case needs, passed down explicitly by each door (API, CLI, jobs). */
export interface PipelineContext {
  readonly db: Db
  readonly log: Logger
  readonly sources: SourceRegistry
  /** A `running` run whose heartbeat is older than this belongs to a dead process. */
  readonly staleRunAfterMs: number
  /** Overrides, the platform table and tolerances for asset identity; the shipped defaults when absent. */
  readonly identity?: IdentitySettings
  /** Our clock; tests may pin it. */
  readonly now?: () => Date
  /** Where runs and records are counted; give the source registry the same one for upstream calls. */
  readonly metrics?: Metrics
}

/** The context's identity settings, or the shipped tables with default tolerances. */
export function identitySettingsOf(ctx: Pick<PipelineContext, 'identity'>): IdentitySettings {
  return ctx.identity ?? defaultIdentitySettings()
}

export function nowIso(ctx: Pick<PipelineContext, 'now'>): string {
  return (ctx.now?.() ?? new Date()).toISOString()
}

/** `host:pid`, so a later process can tell whether a `running` run still has an owner. */
export const RUN_OWNER = `${hostname()}:${process.pid}`
