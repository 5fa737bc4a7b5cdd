import { query, type Tick } from '../api.js'
import type { Conflict, Paged, Rejection, SchemaChange, Stats } from '../api-types.js'
import { badge, dataTable, emptyNote, h, link, statCard } from '../dom.js'
import { formatInt, timeEl } from '../format.js'
import { panel } from '../panel.js'
import { href } from '../router.js'
import { rejectionsTable, schemaChangesTable } from './quality-tables.js'
import type { View } from './view.js'

/** Rejected rows grouped by reason: the newest this many (the API counts by reason per run only). */
const GROUPED_REJECTIONS = 1000
const LISTED_REJECTIONS = 50

interface ReasonGroup {
  reason: string
  count: number
  sources: string[]
  latestAt: string
  example: string
}

export function qualityView(): View {
  const rejectionsPath = `/api/v1/rejections${query({ limit: GROUPED_REJECTIONS })}`
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
    title: 'Rejections by reason',
    load: async (tick) => {
      const page = await tick.get<Paged<Rejection>>(rejectionsPath)
      return {
        groups: groupByReason(page.data),
        sample: page.data.length,
        more: page.page.next_cursor !== null,
      }
    },
    render: ({ groups, sample, more }) =>
      groups.length === 0
        ? emptyNote('No row has been rejected: every row read so far passed validation.')
        : h(
            'div',
            null,
            dataTable(
              'Rejections by reason',
              [
                { label: 'Reason', cell: (g) => h('code', null, g.reason) },
                { label: 'Rows', numeric: true, cell: (g) => formatInt(g.count) },
                { label: 'Sources', cell: (g) => g.sources.join(', ') },
                { label: 'Latest', cell: (g) => timeEl(g.latestAt, true) },
                { label: 'Example', cell: (g) => h('span', { class: 'wrap' }, g.example) },
              ],
              groups,
              {
                tableAttrs: { 'data-rejections': '' },
                rowAttrs: (g) => ({ 'data-reason': g.reason }),
                key: 'reasons',
              },
            ),
            h(
              'p',
              { class: 'table-note' },
              more
                ? `Counted over the newest ${formatInt(sample)} rejected rows.`
                : `All ${formatInt(sample)} rejected rows.`,
            ),
          ),
  })
  const recent = panel({
    title: 'Recent rejected rows',
    load: (tick) => tick.get<Paged<Rejection>>(rejectionsPath),
    render: (page) =>
      page.data.length === 0
        ? emptyNote('Nothing rejected yet.')
        : rejectionsTable(page.data.slice(0, LISTED_REJECTIONS)),
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

function groupByReason(rows: readonly Rejection[]): ReasonGroup[] {
  const groups = new Map<string, ReasonGroup>()
  for (const r of rows) {
    const group = groups.get(r.reason_code)
    if (!group) {
      groups.set(r.reason_code, {
        reason: r.reason_code,
        count: 1,
        sources: [r.source],
        latestAt: r.created_at,
        example: r.message,
      })
      continue
    }
    group.count++
    if (!group.sources.includes(r.source)) group.sources.push(r.source)
    if (r.created_at > group.latestAt) group.latestAt = r.created_at
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
}
