import { Cron } from 'croner'
import type { SourceName } from '../config.js'
import type { RunTrigger } from '../db/schema.js'
import { RunAlreadyRunningError } from '../errors.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { runSource } from '../pipeline/run-pipeline.js'

/** Starts ETL runs on their own; the in-process one here, a BullMQ one when Redis is configured. */
export interface Scheduler {
  start(): void
  /** Stops triggering, lets the batch in flight commit, and resolves when every run has ended. */
  stop(timeoutMs: number): Promise<void>
}

export interface ScheduleOptions {
  readonly sources: readonly SourceName[]
  /** Cron pattern per source, or `off`. */
  readonly schedules: Readonly<Record<string, string>>
  readonly runOnStart: boolean
}

/** croner per source; never two runs of one source at once (croner's `protect` plus the database). */
export function createInProcessScheduler(ctx: PipelineContext, options: ScheduleOptions): Scheduler {
  const jobs: Cron[] = []
  const active = new Map<string, Promise<unknown>>()
  const abort = new AbortController()

  const trigger = (source: SourceName, how: RunTrigger) => {
    if (abort.signal.aborted) return
    if (active.has(source)) {
      ctx.log.info({ source, trigger: how }, 'run skipped: one is already in progress')
      return
    }
    const run = runSource(ctx, source, { trigger: how, signal: abort.signal })
      .catch((error: unknown) => {
        if (error instanceof RunAlreadyRunningError)
          ctx.log.info({ source, trigger: how }, 'run skipped: another process is running it')
        else ctx.log.error({ err: error, source }, 'scheduled run could not start')
      })
      .finally(() => active.delete(source))
    active.set(source, run)
  }

  return {
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
