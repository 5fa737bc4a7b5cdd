import { Cron } from 'croner'
import type { SourceName } from '../config.js'
import type { EtlRunRow } from '../db/schema.js'
import { isDatabaseUnreachable } from '../db/connection-error.js'
import type { RunTrigger } from '../domain/run.js'
import {
  BackfillAlreadyRunningError,
  errorMessage,
  RunAlreadyRunningError,
  SchedulerStoppedError,
} from '../errors.js'
import { checkBackfill, runBackfill, type BackfillRequest } from '../pipeline/backfill.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import type { Scheduler } from '../pipeline/run-starter.js'
import { runSource } from '../pipeline/run-pipeline.js'

export interface ScheduleOptions {
  readonly sources: readonly SourceName[]
  /** Cron pattern per source, or `off`. */
  readonly schedules: Readonly<Record<string, string>>
  readonly runOnStart: boolean
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

/**
 * croner per source; never two runs of one source at once (croner's `protect` plus the database),
 * and besides them at most one backfill per source, started on demand.
 */
export function createInProcessScheduler(ctx: PipelineContext, options: ScheduleOptions): Scheduler {
  const jobs: Cron[] = []
  const active = new Map<string, Promise<unknown>>()
  const abort = new AbortController()

  const startRun = (source: string, how: RunTrigger, startedBy?: string | null): Promise<EtlRunRow> => {
    ctx.sources.check(source)
    if (abort.signal.aborted) return Promise.reject(new SchedulerStoppedError(source))
    // Checked and claimed synchronously, so two triggers in the same tick cannot both pass.
    if (active.has(source)) return Promise.reject(new RunAlreadyRunningError(source))
    return new Promise<EtlRunRow>((resolve, reject) => {
      const run = runSource(ctx, source, {
        trigger: how,
        startedBy,
        signal: abort.signal,
        onStarted: resolve,
      })
        .then(resolve, reject)
        .finally(() => active.delete(source))
      active.set(source, run)
    })
  }
  const trigger = (source: SourceName, how: RunTrigger) => {
    startRun(source, how).catch((error: unknown) => {
      if (error instanceof RunAlreadyRunningError)
        ctx.log.info({ source, trigger: how }, 'run skipped: one is already in progress')
      else if (isDatabaseUnreachable(error))
        // An outage, not a bug: no stack trace; the next trigger tries again.
        ctx.log.error(
          { source, error: errorMessage(error) },
          'scheduled run could not run: the database is unreachable',
        )
      else if (!(error instanceof SchedulerStoppedError))
        ctx.log.error({ err: error, source }, 'scheduled run could not start')
    })
  }

  const startBackfill = (request: BackfillRequest, startedBy?: string | null): Promise<EtlRunRow> => {
    checkBackfill(request, ctx.now?.() ?? new Date())
    const key = `backfill:${request.source}`
    if (abort.signal.aborted) return Promise.reject(new SchedulerStoppedError(request.source))
    if (active.has(key)) return Promise.reject(new BackfillAlreadyRunningError(request.source))
    return new Promise<EtlRunRow>((resolve, reject) => {
      const run = runBackfill(ctx, request, { startedBy, signal: abort.signal, onStarted: resolve })
        .then(resolve, (error: unknown) =>
          reject(
            error instanceof RunAlreadyRunningError
              ? new BackfillAlreadyRunningError(request.source)
              : toError(error),
          ),
        )
        .finally(() => active.delete(key))
      active.set(key, run)
    })
  }

  return {
    startRun: async (source, how, startedBy) => ({ run: await startRun(source, how, startedBy) }),
    startBackfill: async (request, startedBy) => ({ run: await startBackfill(request, startedBy) }),
    start() {
      for (const source of options.sources) {
        const pattern = options.schedules[source] ?? 'off'
        if (pattern !== 'off') {
          jobs.push(
            new Cron(pattern, { protect: true, name: `etl-${source}` }, () => trigger(source, 'schedule')),
          )
          ctx.log.info({ source, schedule: pattern }, 'source scheduled')
        }
        if (options.runOnStart) trigger(source, 'start')
      }
      return Promise.resolve()
    },
    async stop(timeoutMs) {
      for (const job of jobs) job.stop()
      abort.abort()
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
      await Promise.race([Promise.allSettled(active.values()), timeout])
      clearTimeout(timer)
    },
  }
}
