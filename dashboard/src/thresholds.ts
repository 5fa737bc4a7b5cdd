import { formatDuration } from './format.js'

/**
 * When a source's data counts as stale: the server's ASSET_STALE_AFTER_MS, which
 * `GET /api/v1/stats` publishes as `stale_after_ms`; its default (1 h) until a view has read it.
 */
let staleAfter = 3_600_000

export function staleAfterMs(): number {
  return staleAfter
}

/** Takes the server's threshold from a `GET /api/v1/stats` answer. */
export function learnStaleAfterMs(stats: { stale_after_ms?: number }): void {
  if (typeof stats.stale_after_ms === 'number' && stats.stale_after_ms > 0) staleAfter = stats.stale_after_ms
}

/** `1 h 0 min` reads badly: whole hours and minutes only. */
export function staleAfterText(): string {
  const min = staleAfter / 60_000
  return min % 60 === 0 ? `${min / 60} h` : formatDuration(staleAfter)
}
