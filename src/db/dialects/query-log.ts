import type { LogEvent } from 'kysely'
import type { QueryEvent } from '../database.js'

/**
 * Kysely's `log` option, fanned out to whoever observes the database (metrics). With no observer
 * it does nothing; an observer that throws never fails the query it observed.
 */
export function createQueryLog(): {
  readonly log: (event: LogEvent) => void
  /** Reports work done beside Kysely (a dialect's bulk path) as one statement. */
  readonly report: (event: QueryEvent) => void
  readonly observe: (listener: (event: QueryEvent) => void) => () => void
} {
  const listeners = new Set<(event: QueryEvent) => void>()
  const report = (observed: QueryEvent) => {
    for (const listener of listeners) {
      try {
        listener(observed)
      } catch {
        // Observing is best effort: the query already ran.
      }
    }
  }
  return {
    log(event) {
      if (listeners.size === 0) return
      report({ query: event.query, durationMs: event.queryDurationMillis, failed: event.level === 'error' })
    },
    report,
    observe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}
