import { query, type Tick } from '../api.js'
import type { ComparedRun, Comparison } from '../api-types.js'
import { badge, dataTable, h, link, type Child } from '../dom.js'
import { formatDuration, formatInt, formatPct, runTone, timeEl } from '../format.js'
import { panel } from '../panel.js'
import { href } from '../router.js'
import type { View } from './view.js'

interface Row {
  label: string
  base: Child
  head: Child
  delta: Child
}

export function compareView(base: number | undefined, head: number | undefined): View {
  const title = h(
    'h1',
    { tabindex: '-1' },
    base && head ? `Compare runs ${base} and ${head}` : 'Compare runs',
  )
  const comparison = panel({
    title: 'Anomalies',
    load: (tick) => {
      if (base === undefined || head === undefined)
        return Promise.reject(new Error('the address needs two run ids: #/runs/compare?base=<id>&head=<id>'))
      return tick.get<Comparison>(`/api/v1/runs/compare${query({ base, head })}`)
    },
    render: (c) => renderComparison(c),
  })
  const root = h(
    'main',
    { id: 'main', 'data-view': 'compare', tabindex: '-1' },
    h(
      'div',
      { class: 'page-head' },
      h('p', { class: 'crumbs' }, link(href.runs(), 'Runs'), ' / Compare'),
      title,
      h('p', { class: 'subtitle' }, 'Base is the reference, head the run under review.'),
    ),
    comparison.el,
  )
  return { root, refresh: (tick: Tick) => comparison.refresh(tick) }
}

function signed(value: number | null, format: (n: number) => string): string {
  if (value === null) return '—'
  return `${value > 0 ? '+' : value < 0 ? '−' : '±'}${format(Math.abs(value))}`
}

function renderComparison(c: Comparison): HTMLElement {
  const runHead = (run: ComparedRun) =>
    run.id === null
      ? 'queued'
      : link(href.run(run.id), h('span', null, `Run ${run.id} `, badge(run.status, runTone(run.status))))
  const rows: Row[] = [
    { label: 'Run', base: runHead(c.base), head: runHead(c.head), delta: '' },
    { label: 'Started', base: timeEl(c.base.started_at), head: timeEl(c.head.started_at), delta: '' },
    {
      label: 'Duration',
      base: formatDuration(c.base.duration_ms),
      head: formatDuration(c.head.duration_ms),
      delta: `${signed(c.delta.duration_ms, formatDuration)} (${signed(c.delta.duration_pct, (n) => formatPct(n))})`,
    },
    {
      label: 'Extracted',
      base: formatInt(c.base.extracted),
      head: formatInt(c.head.extracted),
      delta: signed(c.delta.extracted, formatInt),
    },
    {
      label: 'Records (loaded + unchanged)',
      base: formatInt(c.base.records),
      head: formatInt(c.head.records),
      delta: `${signed(c.delta.records, formatInt)} (${signed(c.delta.records_pct, (n) => formatPct(n))})`,
    },
    { label: 'Loaded', base: formatInt(c.base.loaded), head: formatInt(c.head.loaded), delta: '' },
    { label: 'Unchanged', base: formatInt(c.base.unchanged), head: formatInt(c.head.unchanged), delta: '' },
    {
      label: 'Rejected',
      base: formatInt(c.base.rejected),
      head: formatInt(c.head.rejected),
      delta: signed(c.delta.rejected, formatInt),
    },
    {
      label: 'Rejection rate',
      base: formatPct(c.base.rejection_rate_pct),
      head: formatPct(c.head.rejection_rate_pct),
      delta: `${signed(c.delta.rejection_rate_pts, (n) => n.toLocaleString('en-US', { maximumFractionDigits: 2 }))} pts`,
    },
    { label: 'Error', base: c.base.error_code ?? '—', head: c.head.error_code ?? '—', delta: '' },
  ]
  return h(
    'div',
    null,
    c.anomalies.length === 0
      ? h(
          'div',
          { class: 'callout callout-ok', 'data-anomalies': '0' },
          h('strong', null, 'No anomaly: '),
          'head is in line with base.',
        )
      : h(
          'ul',
          { class: 'anomalies', 'data-anomalies': c.anomalies.length },
          ...c.anomalies.map((a) =>
            h(
              'li',
              { class: 'callout callout-warn', 'data-anomaly': a.code },
              badge(a.code, 'warn'),
              ' ',
              a.message,
            ),
          ),
        ),
    h('h3', null, `${c.source}: base against head`),
    dataTable(
      'Base and head side by side',
      [
        { label: 'Figure', cell: (r) => r.label },
        { label: 'Base', cell: (r) => r.base },
        { label: 'Head', cell: (r) => r.head },
        { label: 'Change', cell: (r) => r.delta },
      ],
      rows,
      { key: 'comparison' },
    ),
    h(
      'p',
      { class: 'table-note' },
      `Flags: records swing over ${c.thresholds.record_swing_pct} %, duration swing over ${c.thresholds.duration_swing_pct} %, rejection rate up more than ${c.thresholds.rejection_jump_pts} points, a status regression, or zero records.`,
    ),
  )
}
