import type { Kysely } from 'kysely'
import { addRunCounts, finishRun, insertRun } from '../../src/db/repositories/run-repository.js'
import type { Database, EtlRunRow } from '../../src/db/schema.js'
import type { RunStatus, RunTrigger } from '../../src/domain/run.js'
import { RUN_OWNER } from '../../src/pipeline/pipeline-context.js'

export interface RunSeed {
  readonly source?: string
  readonly trigger?: RunTrigger
  readonly status: RunStatus
  readonly startedAt?: string
  /** Defaults to `durationMs` after `startedAt`. */
  readonly finishedAt?: string
  readonly durationMs?: number
  readonly extracted?: number
  readonly loaded?: number
  readonly unchanged?: number
  readonly rejected?: number
  readonly errorCode?: string
  readonly errorMessage?: string
  readonly checkpointAfter?: string | null
}

/**
 * A run with exactly these counts and this ending, written through the run repository. A `running`
 * run belongs to this process and has a fresh heartbeat, so nothing takes it for an orphan.
 */
export async function seedRun(db: Kysely<Database>, seed: RunSeed): Promise<EtlRunRow> {
  const startedAt = seed.startedAt ?? '2026-01-01T00:00:00.000Z'
  const run = await insertRun(db, {
    source: seed.source ?? 'csv',
    trigger: seed.trigger ?? 'cli',
    owner: RUN_OWNER,
    startedAt,
    checkpointBefore: null,
  })
  const counts = {
    batches: 1,
    extracted: seed.extracted ?? 0,
    loaded: seed.loaded ?? 0,
    unchanged: seed.unchanged ?? 0,
    rejected: seed.rejected ?? 0,
  }
  // A live heartbeat: a running run with a stale one would be taken for an orphan and cleared.
  await addRunCounts(db, run.id, counts, new Date().toISOString())
  if (seed.status === 'running') return { ...run, ...counts }
  const durationMs = seed.durationMs ?? 1000
  return finishRun(db, run.id, {
    status: seed.status,
    finishedAt: seed.finishedAt ?? new Date(Date.parse(startedAt) + durationMs).toISOString(),
    durationMs,
    errorCode: seed.errorCode ?? (seed.status === 'failed' ? 'TEST_FAILURE' : null),
    errorMessage: seed.errorMessage ?? (seed.status === 'failed' ? 'it broke' : null),
    checkpointAfter: seed.checkpointAfter ?? null,
  })
}
