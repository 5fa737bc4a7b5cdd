import { query, type Tick } from '../api.js'
import type { Paged, Rejection, Run, RunDetail } from '../api-types.js'
import { badge, dataTable, emptyNote, h, link, statCard } from '../dom.js'
import { formatDuration, formatInt, runTone, timeEl } from '../format.js'
import { panel } from '../panel.js'
import { href } from '../router.js'
import { rejectionsTable, schemaChangesTable } from './quality-tables.js'
import type { View } from './view.js'

/** Rejected rows listed with a run; the counts by reason cover all of them. */
const REJECTION_SAMPLE = 100

export function runView(id: number): View {
  const path = `/api/v1/runs/${id}`
  const status = h('span', { class: 'title-badge' })
  const title = h('h1', { tabindex: '-1' }, `Run ${id}`, ' ', status)
  const subtitle = h('p', { class: 'subtitle' }, 'One ETL run: what it read, stored and refused.')
  const compareSlot = h('div', { class: 'head-actions' })

  const summary = panel({
    title: 'Summary',
    load: async (tick) => {
      const run = await tick.get<RunDetail>(path)
      return { run, previous: await findPrevious(tick, run) }
    },
    render: ({ run, previous }) => {
      status.replaceChildren(badge(run.status, runTone(run.status)))
      subtitle.textContent = `A ${run.source} run, started by ${run.trigger}${run.started_by ? ` (${run.started_by})` : ''}.`
      compareSlot.replaceChildren(
        previous?.id
          ? link(
              href.compare(previous.id, run.id),
              `Compare with previous ${run.source} run (#${previous.id})`,
              {
                class: 'button',
                'data-compare-previous': '',
              },
            )
          : h('span', { class: 'muted' }, `No earlier finished ${run.source} run to compare with.`),
      )
      return renderSummary(run)
    },
  })
  const batches = panel({
    title: 'Batches',
    load: (tick) => tick.get<RunDetail>(path),
    render: (run) =>
      run.batches.length === 0
        ? emptyNote('No raw batch was stored.')
        : dataTable(
            'Batches',
            [
              { label: 'Batch', numeric: true, cell: (b) => `#${b.id}` },
              { label: 'Stream', cell: (b) => b.stream },
              {
                label: 'Status',
                cell: (b) =>
                  badge(b.status, b.status === 'loaded' ? 'ok' : b.status === 'failed' ? 'bad' : 'info'),
              },
              { label: 'Rows', numeric: true, cell: (b) => formatInt(b.row_count) },
              { label: 'Stored', cell: (b) => timeEl(b.created_at) },
              { label: 'Loaded', cell: (b) => timeEl(b.loaded_at) },
              {
                label: 'Error',
                cell: (b) =>
                  b.error_code
                    ? h('span', null, h('code', null, b.error_code), ` ${b.error_message ?? ''}`)
                    : '',
              },
            ],
            run.batches,
            { key: 'batches' },
          ),
  })
  const rejections = panel({
    title: 'Rejections',
    load: async (tick) => {
      const [run, rows] = await Promise.all([
        tick.get<RunDetail>(path),
        tick.get<Paged<Rejection>>(`/api/v1/rejections${query({ run_id: id, limit: REJECTION_SAMPLE })}`),
      ])
      return { byReason: run.rejections_by_reason, rows: rows.data, more: rows.page.next_cursor !== null }
    },
    render: ({ byReason, rows, more }) =>
      h(
        'div',
        null,
        dataTable(
          'Rejections by reason',
          [
            { label: 'Reason', cell: (r) => h('code', null, r.reason_code) },
            { label: 'Rows', numeric: true, cell: (r) => formatInt(r.count) },
          ],
          byReason,
          { tableAttrs: { 'data-rejections': '' }, key: 'by-reason' },
        ),
        byReason.length === 0 ? emptyNote('No row was rejected in this run.') : null,
        rows.length > 0
          ? h(
              'details',
              { class: 'rows-details', 'data-key': 'rejected-rows' },
              h('summary', null, `Rejected rows (${more ? `latest ${rows.length}` : rows.length})`),
              rejectionsTable(rows, false),
            )
          : null,
      ),
  })
  const changes = panel({
    title: 'Schema changes',
    load: (tick) => tick.get<RunDetail>(path),
    render: (run) =>
      run.schema_changes.length === 0
        ? emptyNote('No upstream field changed shape in this run.')
        : schemaChangesTable(run.schema_changes, false),
  })

  const root = h(
    'main',
    { id: 'main', 'data-view': 'run', tabindex: '-1' },
    h(
      'div',
      { class: 'page-head' },
      h('p', { class: 'crumbs' }, link(href.runs(), 'Runs'), ` / Run ${id}`),
      h('div', { class: 'title-row' }, h('div', null, title, subtitle), compareSlot),
    ),
    summary.el,
    h('div', { class: 'two-col' }, rejections.el, changes.el),
    batches.el,
  )
  return {
    root,
    async refresh(tick: Tick) {
      await Promise.all([
        summary.refresh(tick),
        batches.refresh(tick),
        rejections.refresh(tick),
        changes.refresh(tick),
      ])
    },
  }
}

/** The latest finished run of the same source that started before this one. */
async function findPrevious(tick: Tick, run: RunDetail): Promise<Run | undefined> {
  if (!run.started_at) return undefined
  const page = await tick.get<Paged<Run>>(
    `/api/v1/runs${query({ source: run.source, to: run.started_at, limit: 20 })}`,
  )
  return page.data.find(
    (r) => r.id !== null && r.id !== run.id && ['succeeded', 'partial', 'failed'].includes(r.status),
  )
}

function renderSummary(run: RunDetail): HTMLElement {
  return h(
    'div',
    null,
    run.error_code || run.error_message
      ? h(
          'div',
          { class: `callout ${run.status === 'failed' ? 'callout-bad' : 'callout-warn'}`, role: 'note' },
          h('strong', null, run.error_code ?? 'Error'),
          run.error_message ? `: ${run.error_message}` : '',
        )
      : null,
    h(
      'div',
      { class: 'stats-row' },
      statCard('Status', badge(run.status, runTone(run.status))),
      statCard(
        'Source',
        run.source,
        `trigger: ${run.trigger}${run.started_by ? `, by ${run.started_by}` : ''}`,
      ),
      statCard(
        'Started',
        timeEl(run.started_at),
        run.finished_at ? h('span', null, 'finished ', timeEl(run.finished_at)) : 'still running',
      ),
      statCard('Duration', formatDuration(run.duration_ms)),
      statCard('Extracted', formatInt(run.extracted), `${formatInt(run.batch_count)} batches`),
      statCard('Loaded', formatInt(run.loaded), `${formatInt(run.unchanged)} unchanged`),
      statCard('Rejected', formatInt(run.rejected)),
    ),
  )
}
