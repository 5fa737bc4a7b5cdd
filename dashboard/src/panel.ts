import { ApiError, isAbort, type Tick } from './api.js'
import { h, type Child } from './dom.js'

/** A part of a view that refreshes itself: fetches its data, and re-renders only when it changed. */
export interface Panel {
  readonly el: HTMLElement
  refresh(tick: Tick): Promise<void>
}

export interface PanelOptions<T> {
  /** Its heading; none for a panel that draws its own. */
  title?: string
  /** Controls beside the heading, built once and never re-rendered. */
  actions?: Child
  /** Extra classes of the card. */
  className?: string
  /** `section` attributes, e.g. a test hook. */
  attrs?: Record<string, string>
  load: (tick: Tick) => Promise<T>
  render: (data: T) => Child
}

let panelCount = 0

export function panel<T>(options: PanelOptions<T>): Panel {
  const headingId = `panel-${++panelCount}`
  const body = h('div', { class: 'panel-body' }, h('p', { class: 'loading' }, 'Loading…'))
  const error = h('div', { class: 'panel-error', role: 'status' })
  const el = h(
    'section',
    {
      ...options.attrs,
      class: `card ${options.className ?? ''}`.trim(),
      'aria-labelledby': options.title ? headingId : null,
    },
    options.title || options.actions
      ? h(
          'div',
          { class: 'card-head' },
          options.title ? h('h2', { id: headingId }, options.title) : h('span'),
          options.actions ? h('div', { class: 'card-actions' }, options.actions) : null,
        )
      : null,
    error,
    body,
  )
  let shown: string | undefined
  return {
    el,
    async refresh(tick) {
      let data: T
      try {
        data = await options.load(tick)
      } catch (err) {
        if (isAbort(err)) return
        showError(error, err, shown !== undefined)
        if (shown === undefined) body.replaceChildren()
        el.classList.remove('is-empty')
        return
      }
      error.replaceChildren()
      const fingerprint = JSON.stringify(data, withoutMeta)
      if (fingerprint !== shown) {
        shown = fingerprint
        rerender(body, options.render(data))
      }
      // A panel with nothing to say (a health banner while all is well) takes no room.
      el.classList.toggle('is-empty', body.childNodes.length === 0)
    },
  }
}

/** A response's `meta` (request id, latency) changes on every request, not the data: left out of the comparison. */
function withoutMeta(key: string, value: unknown): unknown {
  return key === 'meta' ? undefined : value
}

/** The problem's `detail` in a small inline message; the panel keeps what it showed before. */
export function showError(slot: HTMLElement, err: unknown, stale = false): void {
  const detail =
    err instanceof ApiError ? err.detail : err instanceof Error ? err.message : 'something went wrong'
  if (err instanceof ApiError && err.status === 401) {
    slot.replaceChildren(
      h(
        'p',
        { class: 'inline-error', title: detail },
        h('strong', null, 'API key needed: '),
        'this server asks for a key to read data. Paste one with the “API key” button above.',
      ),
    )
    return
  }
  slot.replaceChildren(
    h(
      'p',
      { class: 'inline-error' },
      h('strong', null, stale ? 'Could not refresh: ' : 'Could not load: '),
      detail,
    ),
  )
}

/**
 * Replaces `container`'s content while keeping the reader's place: the focused control (found again
 * by its `data-key` or `href`), open `<details>` and the horizontal scroll of tables.
 */
export function rerender(container: HTMLElement, content: Child): void {
  const active = document.activeElement
  const focusKey = active && container.contains(active) ? keyOf(active) : undefined
  // Several links may share a key (the same run linked from many rows): remember which one.
  const focusNth =
    focusKey === undefined ? -1 : focusables(container, focusKey).indexOf(active as HTMLElement)
  const open = new Set(
    [...container.querySelectorAll('details[open]')].map(keyOf).filter((k) => k !== undefined),
  )
  const scrolls = new Map(
    [...container.querySelectorAll<HTMLElement>('.table-wrap, .timeline-wrap')].map((el) => [
      keyOf(el),
      el.scrollLeft,
    ]),
  )
  container.replaceChildren()
  if (content !== null && content !== undefined && content !== false && content !== '')
    container.append(typeof content === 'object' ? content : String(content))
  for (const details of container.querySelectorAll('details')) {
    const key = keyOf(details)
    if (key !== undefined && open.has(key)) details.open = true
  }
  for (const el of container.querySelectorAll<HTMLElement>('.table-wrap, .timeline-wrap')) {
    const left = scrolls.get(keyOf(el))
    if (left) el.scrollLeft = left
  }
  if (focusKey !== undefined) {
    const matches = focusables(container, focusKey)
    const target = matches[focusNth] ?? matches[0]
    target?.focus({ preventScroll: true })
  }
}

function focusables(container: HTMLElement, key: string): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>('[data-key], a[href]')].filter((el) => keyOf(el) === key)
}

function keyOf(el: Element): string | undefined {
  const key = el.getAttribute('data-key') ?? el.getAttribute('href')
  return key ?? undefined
}
