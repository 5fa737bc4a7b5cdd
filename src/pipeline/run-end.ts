import { setTimeout as sleep } from 'node:timers/promises'
import { isDatabaseUnreachable } from '../db/connection-error.js'
import { errorCode, errorMessage } from '../errors.js'
import type { PipelineContext } from './pipeline-context.js'

/** How long a run waits for its database to come back to record how it ended. */
const RECORD_END_WITHIN_MS = 30_000

/**
 * The code a run that stopped on `failure` records: the driver's own message (a lost connection, a
 * full disk, a lock held too long) says what happened, `DATABASE_ERROR` that it was the database,
 * not a bug.
 */
export function runFailureCode(failure: unknown): string {
  return isDatabaseUnreachable(failure) ? 'DATABASE_ERROR' : errorCode(failure)
}

/**
 * Records a run's end. The database that stopped the run may still be away (a restart, a
 * failover): waiting a little for it beats leaving the run `running`, which blocks its source
 * until the heartbeat goes stale. Still unreachable after `RECORD_END_WITHIN_MS`, it throws.
 */
export async function recordRunEnd<T>(log: PipelineContext['log'], write: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + RECORD_END_WITHIN_MS
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 5000)) {
    try {
      return await write()
    } catch (error) {
      if (!isDatabaseUnreachable(error) || Date.now() + delayMs > deadline) throw error
      log.warn({ error: errorMessage(error), retryInMs: delayMs }, 'cannot record how the run ended yet')
      await sleep(delayMs)
    }
  }
}
