import { ApiError, isAbort, type Tick } from './api.js'
import type { Health, HealthStatus } from './api-types.js'
import { h, setAttrs } from './dom.js'

/** Why `/health` says what it says, in a few words. */
export function healthReason(health: Health): string {
  if (health.status === 'down') return health.database.error ?? 'database unreachable'
  const reasons: string[] = []
  for (const s of health.sources) {
    if (s.enabled && s.last_run?.status === 'failed')
      reasons.push(`${s.source} failed${s.last_run.error_code ? ` (${s.last_run.error_code})` : ''}`)
  }
  if (health.queue?.status === 'down') reasons.push(health.queue.error ?? 'queue down')
  else if (health.queue && health.queue.workers.length === 0) reasons.push('no worker seen')
  if (reasons.length > 0) return reasons.join('; ')
  return health.status === 'ok' ? 'all sources healthy' : 'degraded'
}

/** The header's status pill: the word, a dot, and the reason; `data-health` for tests. */
export function healthPill() {
  const word = h('span', { class: 'health-word' }, 'checking')
  const reason = h('span', { class: 'health-reason' })
  const el = h(
    'a',
    { href: '#/', class: 'health', 'data-health': '', 'data-status': 'unknown', 'aria-live': 'polite' },
    h('span', { class: 'health-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'visually-hidden' }, 'API health: '),
    word,
    h('span', { class: 'visually-hidden' }, ': '),
    reason,
  )
  const show = (status: HealthStatus | 'unknown', why: string) => {
    setAttrs(el, { 'data-status': status, title: `Health: ${status}, ${why}` })
    if (word.textContent !== status) word.textContent = status
    if (reason.textContent !== why) reason.textContent = why
  }
  return {
    el,
    /** Shows the latest `/health`, and returns it (undefined when it could not be read). */
    async refresh(tick: Tick): Promise<Health | undefined> {
      try {
        const health = await tick.get<Health>('/health', [503])
        show(health.status, healthReason(health))
        return health
      } catch (err) {
        if (isAbort(err)) return undefined
        show('down', err instanceof ApiError ? err.detail : 'the API did not answer')
        return undefined
      }
    },
  }
}

/**
 * Whether a run is under way: one running or queued, or (shortly after the page opened) an enabled
 * source with no run yet, whose first run is about to start.
 */
export function runUnderWay(health: Health | undefined, pageAgeMs: number): boolean {
  if (!health) return false
  return health.sources.some(
    (s) =>
      s.enabled &&
      (s.last_run === null
        ? pageAgeMs < 120_000
        : s.last_run.status === 'running' || s.last_run.status === 'queued'),
  )
}
