import type { Kysely } from 'kysely'
import { RunAlreadyRunningError } from '../../errors.js'
import type { Database, EtlRunRow, RunStatus, RunTrigger } from '../schema.js'
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

/** The latest run of each source. */
export function listLatestRunPerSource(db: Kysely<Database>): Promise<EtlRunRow[]> {
  return db
    .selectFrom('etlRuns')
    .selectAll()
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('etlRuns')
        .select((e) => e.fn.max('id').as('id'))
        .groupBy('source'),
    )
    .orderBy('source')
    .execute()
}
