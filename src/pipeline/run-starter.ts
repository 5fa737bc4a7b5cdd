import type { EtlRunRow } from '../db/schema.js'
import type { QueuedRun, RunTrigger, WorkerSeen } from '../domain/run.js'
import type { BackfillRequest } from './backfill.js'

/** A run that started, or, in queue mode, a job that no worker has taken within the wait. */
export type StartedRun = { readonly run: EtlRunRow } | { readonly queued: QueuedRun }

/** Starts a run on demand (the API's `POST /api/v1/runs`, the CLI's `etl run --enqueue`). */
export interface RunStarter {
  /**
   * Starts a run of `source`. Resolves once it has started (in-process, at once; in queue mode, once
   * a worker has started it, or with the queued job when none has within a moment); rejects with
   * `RunAlreadyRunningError` while one is going or asked for, `SourceUnavailableError` for an
   * unknown source, and `QueueUnavailableError` while the queue cannot be reached. `startedBy` is
   * stored with the run (in queue mode it travels in the job).
   */
  startRun(source: string, trigger: RunTrigger, startedBy?: string | null): Promise<StartedRun>
  /**
   * Starts a backfill (`POST /api/v1/backfills`): checked first (`ValidationError` naming the
   * field), then run beside the source's snapshot runs; rejects with `RunAlreadyRunningError` while
   * a backfill of that source is going. In queue mode it is a job for the workers.
   */
  startBackfill(request: BackfillRequest, startedBy?: string | null): Promise<StartedRun>
}

/** Starts ETL runs on their own: in process (croner), or as BullMQ job schedulers in queue mode. */
export interface Scheduler extends RunStarter {
  start(): Promise<void>
  /** Stops triggering, lets the batch in flight commit, and resolves when every run has ended. */
  stop(timeoutMs: number): Promise<void>
}

/** What the API and metrics read of the queue in queue mode (the queue itself lives in `src/queue/`). */
export interface QueueView {
  /** Runs asked for and not yet taken by a worker, oldest first. */
  queued(): Promise<QueuedRun[]>
  /** Jobs per BullMQ state: waiting, prioritized, delayed, active, completed, failed, paused. */
  counts(): Promise<Record<string, number>>
  /** Jobs found stalled (their worker died or froze) since the queue was created. */
  stalledTotal(): Promise<number>
  /** Workers whose heartbeat is at most `windowMs` old. */
  workers(windowMs: number): Promise<WorkerSeen[]>
  ping(timeoutMs: number): Promise<void>
}
