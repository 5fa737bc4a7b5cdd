import type { Kysely } from 'kysely'
import { RunAlreadyRunningError } from '../../errors.js'
import { FINISHED_RUN_STATUSES, type RunStatus, type RunTrigger } from '../../domain/run.js'
import type { Database, EtlRunRow } from '../schema.js'
import { isUniqueViolation } from '../unique-violation.js'

export interface RunCounts {
  readonly batches: number
  readonly extracted: number
  readonly loaded: number
  readonly unchanged: number
  readonly rejected: number
}

/** Starts a run; the database refuses a second live run of one source. */
export async function insertRun(
  db: Kysely<Database>,
  run: {
    source: string
    trigger: RunTrigger
    owner: string
    startedAt: string
    checkpointBefore: string | null
    /** Who asked for it (`key:…`, `jwt:…`, `cli`); null or absent for the schedule. */
    startedBy?: string | null
  },
): Promise<EtlRunRow> {
  try {
    return await db
      .insertInto('etlRuns')
      .values({ ...run, status: 'running', heartbeatAt: run.startedAt })
      .returningAll()
      .executeTakeFirstOrThrow()
  } catch (error) {
    if (isUniqueViolation(error)) throw new RunAlreadyRunningError(run.source)
    throw error
  }
}

/**
 * Records a run that was asked for and not run, because its source was running elsewhere: a
 * finished `skipped` row, so the history shows the dropped tick and why.
 */
export function insertSkippedRun(
  db: Kysely<Database>,
  run: { source: string; trigger: RunTrigger; owner: string; at: string; errorMessage: string },
): Promise<EtlRunRow> {
  return db
    .insertInto('etlRuns')
    .values({
      source: run.source,
      trigger: run.trigger,
      owner: run.owner,
      status: 'skipped',
      startedAt: run.at,
      heartbeatAt: run.at,
      finishedAt: run.at,
      durationMs: 0,
      errorCode: 'RUN_SKIPPED',
      errorMessage: run.errorMessage,
      checkpointBefore: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** Adds one batch's counts and proves the run is alive. */
export async function addRunCounts(
  db: Kysely<Database>,
  runId: number,
  counts: RunCounts,
  now: string,
): Promise<void> {
  await db
    .updateTable('etlRuns')
    .set((eb) => ({
      batches: eb('batches', '+', counts.batches),
      extracted: eb('extracted', '+', counts.extracted),
      loaded: eb('loaded', '+', counts.loaded),
      unchanged: eb('unchanged', '+', counts.unchanged),
      rejected: eb('rejected', '+', counts.rejected),
      heartbeatAt: now,
    }))
    .where('id', '=', runId)
    .execute()
}

export async function finishRun(
  db: Kysely<Database>,
  runId: number,
  end: {
    status: Exclude<RunStatus, 'running'>
    finishedAt: string
    durationMs: number
    errorCode: string | null
    errorMessage: string | null
    checkpointBefore?: string | null
    checkpointAfter: string | null
  },
): Promise<EtlRunRow> {
  return db.updateTable('etlRuns').set(end).where('id', '=', runId).returningAll().executeTakeFirstOrThrow()
}

export function findRun(db: Kysely<Database>, runId: number): Promise<EtlRunRow | undefined> {
  return db.selectFrom('etlRuns').selectAll().where('id', '=', runId).executeTakeFirst()
}

export function listRunningRuns(db: Kysely<Database>): Promise<EtlRunRow[]> {
  return db.selectFrom('etlRuns').selectAll().where('status', '=', 'running').execute()
}

/** Marks a run that died without finishing; its source resumes from its checkpoint next time. */
export async function markRunInterrupted(
  db: Kysely<Database>,
  run: EtlRunRow,
  message: string,
): Promise<void> {
  const durationMs = Math.max(0, Date.parse(run.heartbeatAt) - Date.parse(run.startedAt))
  await db
    .updateTable('etlRuns')
    .set({
      status: 'failed',
      finishedAt: run.heartbeatAt,
      durationMs,
      errorCode: 'RUN_INTERRUPTED',
      errorMessage: message,
    })
    .where('id', '=', run.id)
    .where('status', '=', 'running')
    .execute()
}

/**
 * The latest run of each source, or the latest among runs in one of `statuses`: of its feed, so a
 * backfill (history, beside the feed) never stands for how fresh or healthy a source is.
 */
export function listLatestRunPerSource(
  db: Kysely<Database>,
  statuses?: readonly RunStatus[],
): Promise<EtlRunRow[]> {
  return db
    .selectFrom('etlRuns')
    .selectAll()
    .where('id', 'in', (eb) => {
      const latest = eb
        .selectFrom('etlRuns')
        .select((e) => e.fn.max('id').as('id'))
        .where('trigger', '<>', 'backfill')
        .groupBy('source')
      return statuses === undefined ? latest : latest.where('status', 'in', statuses)
    })
    .orderBy('source')
    .execute()
}

export interface RunFilter {
  readonly source?: string
  readonly status?: RunStatus
  readonly trigger?: RunTrigger
  /** Inclusive lower bound on started_at. */
  readonly from?: string
  /** Exclusive upper bound on started_at. */
  readonly to?: string
  /** Keyset: runs with a smaller id than this (newest first). */
  readonly beforeId?: number
  readonly limit: number
}

/** One keyset page of runs, newest first. */
export function listRuns(db: Kysely<Database>, filter: RunFilter): Promise<EtlRunRow[]> {
  let query = db.selectFrom('etlRuns').selectAll().orderBy('id', 'desc').limit(filter.limit)
  if (filter.source !== undefined) query = query.where('source', '=', filter.source)
  if (filter.status !== undefined) query = query.where('status', '=', filter.status)
  if (filter.trigger !== undefined) query = query.where('trigger', '=', filter.trigger)
  if (filter.from !== undefined) query = query.where('startedAt', '>=', filter.from)
  if (filter.to !== undefined) query = query.where('startedAt', '<', filter.to)
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId)
  return query.execute()
}

/** How many runs each source has in each status; combinations without runs are absent. */
export async function countRunsBySourceAndStatus(
  db: Kysely<Database>,
): Promise<{ source: string; status: RunStatus; runs: number }[]> {
  const rows = await db
    .selectFrom('etlRuns')
    .select(['source', 'status', (eb) => eb.fn.countAll<number | string>().as('runs')])
    .groupBy(['source', 'status'])
    .execute()
  return rows.map((r) => ({ source: r.source, status: r.status, runs: Number(r.runs) }))
}

export interface SourceRunTotals {
  readonly source: string
  readonly loaded: number
  readonly unchanged: number
  readonly rejected: number
  /** Mean duration of the source's finished runs; null when none has finished. */
  readonly meanDurationMs: number | null
}

/** Per source: record counts summed over all its runs, and the mean duration of its finished runs. */
/** Records newly stored per source by the runs that started at or after `sinceIso`. */
export async function sumLoadedSince(
  db: Kysely<Database>,
  sinceIso: string,
): Promise<{ source: string; loaded: number }[]> {
  const rows = await db
    .selectFrom('etlRuns')
    .select((eb) => ['source', eb.fn.sum<number | string>('loaded').as('loaded')])
    .where('startedAt', '>=', sinceIso)
    .groupBy('source')
    .execute()
  return rows.map((r) => ({ source: r.source, loaded: Number(r.loaded) }))
}

export async function sumRunCountsBySource(db: Kysely<Database>): Promise<SourceRunTotals[]> {
  const rows = await db
    .selectFrom('etlRuns')
    .select((eb) => [
      'source',
      eb.fn.sum<number | string>('loaded').as('loaded'),
      eb.fn.sum<number | string>('unchanged').as('unchanged'),
      eb.fn.sum<number | string>('rejected').as('rejected'),
      eb.fn
        .avg<number | string | null>(
          eb.case().when('status', 'in', FINISHED_RUN_STATUSES).then(eb.ref('durationMs')).end(),
        )
        .as('meanDurationMs'),
    ])
    .groupBy('source')
    .orderBy('source')
    .execute()
  return rows.map((r) => ({
    source: r.source,
    loaded: Number(r.loaded),
    unchanged: Number(r.unchanged),
    rejected: Number(r.rejected),
    meanDurationMs: r.meanDurationMs === null ? null : Number(r.meanDurationMs),
  }))
}
