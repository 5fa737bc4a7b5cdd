import { query, type Tick } from '../api.js'
import type { Paged, Run } from '../api-types.js'
import { badge, dataTable, h, link } from '../dom.js'
import { formatDuration, formatInt, formatTime, runTone, timeEl } from '../format.js'
import { panel, rerender } from '../panel.js'
import { href } from '../router.js'
import { runTimeline } from '../run-timeline.js'
import type { View } from './view.js'

const RUNS_PATH = `/api/v1/runs${query({ limit: 100 })}`
/** Rows of the table under the timeline. */
const TABLE_ROWS = 20

export function runsView(): View {
  const empty = h('div', { class: 'empty-slot' })
  const timeline = panel({
    title: 'Timeline',
    load: (tick) => tick.get<Paged<Run>>(RUNS_PATH),
    render: (page) => {
      empty.replaceChildren(page.data.length === 0 ? noRuns() : '')
      return page.data.length === 0 ? '' : runTimeline(page.data)
    },
  })
  const compare = compareForm()
  let rowsShown = TABLE_ROWS
  let latest: Run[] = []
  const more = h('button', { type: 'button', 'data-key': 'more-runs' }, 'Show all 100')
  const renderTable = () => {
    more.hidden = latest.length <= rowsShown
    more.textContent = `Show all ${latest.length}`
    return latest.length === 0
      ? ''
      : h('div', null, runsTable(latest.slice(0, rowsShown)), h('div', { class: 'more-row' }, more))
  }
  const table = panel({
    title: 'Recent runs',
    load: (tick) => tick.get<Paged<Run>>(RUNS_PATH),
    render: (page) => {
      compare.setRuns(page.data)
      latest = page.data
      return renderTable()
    },
  })
  more.addEventListener('click', () => {
    rowsShown = Infinity
    more.hidden = true
    const body = table.el.querySelector<HTMLElement>('.panel-body')
    if (body) rerender(body, renderTable())
    // The button is gone: focus moves to the first run it revealed.
    body?.querySelectorAll<HTMLElement>('tbody tr')[TABLE_ROWS]?.querySelector('a')?.focus()
  })
  const root = h(
    'main',
    { id: 'main', 'data-view': 'runs', tabindex: '-1' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Runs'),
      h(
        'p',
        { class: 'subtitle' },
        'The latest 100 runs, per source. Select a bar (or press Enter on it) to open the run.',
      ),
    ),
    empty,
    timeline.el,
    compare.el,
    table.el,
  )
  return {
    root,
    async refresh(tick: Tick) {
      await Promise.all([timeline.refresh(tick), table.refresh(tick)])
    },
  }
}

function noRuns(): HTMLElement {
  return h(
    'section',
    { class: 'card empty-state', 'data-empty-state': '' },
    h('h2', null, 'No run yet'),
    h(
      'p',
      null,
      'Each run of a source appears here as a bar, coloured and labelled by its status. The schedule starts the first runs a moment after ',
      h('code', null, 'coinpipe serve'),
      ' starts; ',
      h('code', null, 'coinpipe etl run --file prices.csv'),
      ' imports a CSV by hand.',
    ),
  )
}

function runsTable(runs: Run[]): HTMLElement {
  return dataTable(
    'Recent runs',
    [
      {
        label: 'Run',
        cell: (r) =>
          r.id === null ? h('span', { class: 'muted' }, 'queued') : link(href.run(r.id), `#${r.id}`),
      },
      { label: 'Source', cell: (r) => r.source },
      {
        label: 'Status',
        cell: (r) => badge(r.status, runTone(r.status), { title: r.waiting_for ?? r.error_message ?? '' }),
      },
      { label: 'Trigger', cell: (r) => r.trigger },
      { label: 'Started by', cell: (r) => r.started_by ?? '' },
      { label: 'Started', cell: (r) => timeEl(r.started_at ?? r.queued_at) },
      { label: 'Duration', numeric: true, cell: (r) => formatDuration(r.duration_ms) },
      { label: 'Extracted', numeric: true, cell: (r) => formatInt(r.extracted) },
      { label: 'Loaded', numeric: true, cell: (r) => formatInt(r.loaded) },
      { label: 'Unchanged', numeric: true, cell: (r) => formatInt(r.unchanged) },
      { label: 'Rejected', numeric: true, cell: (r) => formatInt(r.rejected) },
      {
        label: 'Error',
        cell: (r) => (r.error_code ? h('code', { title: r.error_message ?? '' }, r.error_code) : ''),
      },
    ],
    runs,
    { rowAttrs: (r) => ({ 'data-run': r.id ?? '' }), key: 'runs' },
  )
}

/** Two runs to compare; built once, so the choice survives each refresh of the list. */
function compareForm() {
  const baseSelect = h('select', { id: 'compare-base', 'data-compare': 'base' })
  const headSelect = h('select', { id: 'compare-head', 'data-compare': 'head' })
  const message = h('p', { class: 'form-message', role: 'status' })
  const form = h(
    'form',
    { class: 'compare-form' },
    h('div', { class: 'field' }, h('label', { for: 'compare-base' }, 'Base run'), baseSelect),
    h('div', { class: 'field' }, h('label', { for: 'compare-head' }, 'Head run'), headSelect),
    h('button', { type: 'submit', class: 'primary' }, 'Compare'),
  )
  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'compare-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'compare-title' }, 'Compare two runs')),
    h(
      'div',
      { class: 'panel-body' },
      h(
        'p',
        { class: 'table-note' },
        'Two finished runs of one source: counts, duration and rejection rate side by side, with anomaly flags.',
      ),
      form,
      message,
    ),
  )
  let finished: Run[] = []
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const b = finished.find((r) => String(r.id) === baseSelect.value)
    const hd = finished.find((r) => String(r.id) === headSelect.value)
    if (!b || !hd || b.id === null || hd.id === null) {
      message.textContent = 'Pick two runs.'
      return
    }
    if (b.source !== hd.source) {
      message.textContent = `Run ${b.id} is a ${b.source} run and run ${hd.id} a ${hd.source} run: pick two runs of one source.`
      return
    }
    message.textContent = ''
    location.hash = href.compare(b.id, hd.id)
  })
  const fill = (select: HTMLSelectElement, fallback: string) => {
    const keep = select.value || fallback
    const sources = [...new Set(finished.map((r) => r.source))].sort()
    select.replaceChildren(
      ...sources.map((source) =>
        h(
          'optgroup',
          { label: source },
          ...finished
            .filter((r) => r.source === source)
            .map((r) =>
              h('option', { value: String(r.id) }, `#${r.id} · ${r.status} · ${formatTime(r.started_at)}`),
            ),
        ),
      ),
    )
    if (finished.some((r) => String(r.id) === keep)) select.value = keep
  }
  return {
    el,
    setRuns(runs: Run[]) {
      finished = runs.filter((r) => r.id !== null && ['succeeded', 'partial', 'failed'].includes(r.status))
      // By default the latest run that has an earlier one of its source, against that one.
      const head = finished.find((r) => finished.some((o) => o.source === r.source && o !== r))
      const base = head && finished.find((o) => o.source === head.source && o !== head)
      fill(headSelect, String(head?.id ?? ''))
      fill(baseSelect, String(base?.id ?? ''))
    },
  }
}
