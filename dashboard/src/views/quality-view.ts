import { query, type Tick } from '../api.js'
import type { Conflict, Paged, Rejection, SchemaChange, Stats } from '../api-types.js'
import { badge, dataTable, emptyNote, h, link, statCard } from '../dom.js'
import { formatInt, timeEl } from '../format.js'
import { panel } from '../panel.js'
import { href } from '../router.js'
import { rejectionsTable, schemaChangesTable } from './quality-tables.js'
import type { View } from './view.js'

/** What "recent" means for the counts by reason. */
const RECENT_MS = 7 * 86_400_000
const LISTED_REJECTIONS = 50

interface ReasonCount {
  source: string
  reason_code: string
  count: number
  last_rejected_at: string
}

export function qualityView(): View {
  const rejectionsPath = `/api/v1/rejections${query({ limit: LISTED_REJECTIONS })}`
  const totals = panel({
    className: 'card-plain',
    load: (tick) => tick.get<Stats>('/api/v1/stats'),
    render: (stats) =>
      h(
        'div',
        { class: 'stats-row' },
        statCard('Rows rejected, all runs', formatInt(stats.totals.rejected)),
        ...stats.sources.map((s) =>
          statCard(
            `Rejected by ${s.source}`,
            formatInt(s.rejected),
            `of ${formatInt(s.loaded + s.unchanged + s.rejected)} rows read`,
          ),
        ),
      ),
  })
  const byReason = panel({
    title: 'Rejections by reason, last 7 days',
    load: (tick) => {
      const since = new Date(Math.floor((Date.now() - RECENT_MS) / 60_000) * 60_000).toISOString()
      return tick.get<{ data: ReasonCount[] }>(`/api/v1/rejections/reasons${query({ from: since })}`)
    },
    render: ({ data }) =>
      data.length === 0
        ? emptyNote('No row was rejected in the last 7 days: every row read passed validation.')
        : dataTable(
            'Rejections by reason, last 7 days',
            [
              { label: 'Reason', cell: (r) => h('code', null, r.reason_code) },
              { label: 'Source', cell: (r) => r.source },
              { label: 'Rows', numeric: true, cell: (r) => formatInt(r.count) },
              { label: 'Latest', cell: (r) => timeEl(r.last_rejected_at, true) },
            ],
            data,
            {
              tableAttrs: { 'data-rejections': '' },
              rowAttrs: (r) => ({ 'data-reason': r.reason_code }),
              key: 'reasons',
            },
          ),
  })
  const recent = panel({
    title: 'Recent rejected rows',
    load: (tick) => tick.get<Paged<Rejection>>(rejectionsPath),
    render: (page) =>
      page.data.length === 0 ? emptyNote('Nothing rejected yet.') : rejectionsTable(page.data),
  })
  const changes = panel({
    title: 'Schema changes',
    load: (tick) => tick.get<Paged<SchemaChange>>(`/api/v1/schema-changes${query({ limit: 50 })}`),
    render: (page) =>
      page.data.length === 0
        ? emptyNote('No upstream has changed the shape of its payloads since coinpipe started watching.')
        : schemaChangesTable(page.data),
  })
  const conflicts = panel({
    title: 'Identity conflicts',
    load: (tick) => tick.get<Paged<Conflict>>(`/api/v1/assets/conflicts${query({ limit: 100 })}`),
    render: (page) =>
      page.data.length === 0
        ? emptyNote(
            'No identity conflict: every source asset mapped to one canonical asset without ambiguity.',
          )
        : dataTable(
            'Identity conflicts',
            [
              { label: 'Source asset', cell: (c) => h('code', null, `${c.source}:${c.source_asset_id}`) },
              { label: 'Reason', cell: (c) => badge(c.reason, 'warn') },
              { label: 'Detail', cell: (c) => h('span', { class: 'wrap' }, c.detail) },
              { label: 'Kept as', cell: (c) => link(href.asset(c.asset_id), c.asset_id) },
              {
                label: 'Could be',
                cell: (c) =>
                  h(
                    'ul',
                    { class: 'inline-list' },
                    ...c.candidates.map((k) =>
                      h('li', { title: k.why }, link(href.asset(k.asset_id), k.asset_id)),
                    ),
                  ),
              },
              { label: 'Detected', cell: (c) => timeEl(c.detected_at) },
            ],
            page.data,
            { key: 'conflicts' },
          ),
  })
  const root = h(
    'main',
    { id: 'main', 'data-view': 'quality', tabindex: '-1' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Data quality'),
      h(
        'p',
        { class: 'subtitle' },
        'Rows the pipeline refused, upstream payloads that changed shape, and ambiguous identities.',
      ),
    ),
    totals.el,
    byReason.el,
    recent.el,
    changes.el,
    conflicts.el,
  )
  return {
    root,
    async refresh(tick: Tick) {
      await Promise.all([
        totals.refresh(tick),
        byReason.refresh(tick),
        recent.refresh(tick),
        changes.refresh(tick),
        conflicts.refresh(tick),
      ])
    },
  }
}
