/**
 * Where a run stands: `running` until it ends as `succeeded`, `partial` or `failed`. A `skipped` run
 * never ran: a scheduled tick (queue mode) that came while its source was running elsewhere,
 * recorded so the history says which tick was dropped and why.
 */
export const RUN_STATUSES = ['running', 'succeeded', 'partial', 'failed', 'skipped'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

/** The statuses of runs that ran to an end: what comparisons, health and stats look at. */
export const FINISHED_RUN_STATUSES = [
  'succeeded',
  'partial',
  'failed',
] as const satisfies readonly RunStatus[]
export type FinishedRunStatus = (typeof FINISHED_RUN_STATUSES)[number]

/**
 * What started a run: the CLI, the API, the schedule, the run at start-up, a replay, or a backfill
 * of history (which runs beside its source's snapshot runs, one at a time per source).
 */
export const RUN_TRIGGERS = ['cli', 'api', 'schedule', 'start', 'replay', 'backfill'] as const
export type RunTrigger = (typeof RUN_TRIGGERS)[number]

/** A run asked for in queue mode that no worker has taken yet: `queued` in the run history. */
export interface QueuedRun {
  readonly jobId: string
  readonly source: string
  readonly trigger: RunTrigger
  /** When it was asked for, ISO 8601. */
  readonly queuedAt: string
  /** Why it is not running yet, when a worker told (a run of its source in progress). */
  readonly waitingFor: string | undefined
  /** Who asked for it (`key:…`, `jwt:…`, `cli`); null for the schedule. */
  readonly startedBy: string | null
}

/** A worker whose heartbeat is recent. */
export interface WorkerSeen {
  /** `host:pid`. */
  readonly id: string
  readonly lastSeenAt: string
  /** Sources it is running now. */
  readonly running: readonly string[]
}
