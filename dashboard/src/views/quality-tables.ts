import type { Rejection, SchemaChange } from '../api-types.js'
import { badge, dataTable, h, link, type Child } from '../dom.js'
import { formatInt, timeEl } from '../format.js'
import { href } from '../router.js'

function runLink(id: number | null): Child {
  return id === null ? h('span', { class: 'muted' }, '—') : link(href.run(id), `#${id}`)
}

/** Rejected rows; the raw text folds away, since it can be long. */
export function rejectionsTable(rows: readonly Rejection[], withRun = true): HTMLElement {
  return dataTable(
    'Rejected rows',
    [
      { label: 'Line', numeric: true, cell: (r) => (r.line === null ? '—' : formatInt(r.line)) },
      { label: 'Reason', cell: (r) => h('code', null, r.reason_code) },
      { label: 'Message', cell: (r) => h('span', { class: 'wrap' }, r.message) },
      ...(withRun
        ? [
            { label: 'Source', cell: (r: Rejection) => r.source },
            { label: 'Run', cell: (r: Rejection) => runLink(r.run_id) },
          ]
        : []),
      {
        label: 'Raw',
        cell: (r) =>
          r.raw === null
            ? ''
            : h(
                'details',
                { class: 'raw', 'data-key': `raw-${r.id}` },
                h('summary', null, 'show'),
                h('pre', null, r.raw),
              ),
      },
      { label: 'When', cell: (r) => timeEl(r.created_at) },
    ],
    rows,
    { key: withRun ? 'rejections' : 'run-rejections' },
  )
}

export function schemaChangesTable(changes: readonly SchemaChange[], withRun = true): HTMLElement {
  return dataTable(
    'Schema changes',
    [
      { label: 'Field', cell: (c) => h('code', null, c.field) },
      {
        label: 'Change',
        cell: (c) => badge(c.change, c.change === 'added' ? 'info' : c.change === 'removed' ? 'bad' : 'warn'),
      },
      { label: 'Detail', cell: (c) => h('span', { class: 'wrap' }, c.detail.message) },
      { label: 'Source / stream', cell: (c) => `${c.source} / ${c.stream}` },
      ...(withRun ? [{ label: 'Run', cell: (c: SchemaChange) => runLink(c.run_id) }] : []),
      { label: 'Detected', cell: (c) => timeEl(c.detected_at) },
    ],
    changes,
    { key: withRun ? 'schema-changes' : 'run-schema-changes' },
  )
}
