import { query, type Tick } from '../api.js'
import type { DivergentAsset, Health, Paged, Run, SourceStats, Stats } from '../api-types.js'
import { badge, dataTable, emptyNote, h, link, statCard } from '../dom.js'
import { formatInt, formatPct, formatPrice, runTone, timeEl } from '../format.js'
import { healthReason } from '../health-pill.js'
import { panel } from '../panel.js'
import { href } from '../router.js'
import { learnStaleAfterMs, staleAfterMs, staleAfterText } from '../thresholds.js'
import type { View } from './view.js'

/** Pages of runs summed for "loaded in the last 24 h"; beyond them the figure reads "≥". */

interface SourceRow {
  source: string
  enabled: boolean
  lastRun: Health['sources'][number]['last_run']
  stats: SourceStats | undefined
  loaded24h: number
  /** The newest end of a run that stored data (succeeded, or partial). */
  freshAt: string | null
  /** Part of the data, so the row re-renders when the source crosses the threshold. */
  stale: boolean
  /** `/health` could not read the runs: the last run is unknown, not absent. */
  healthDown: boolean
}

export function overviewView(): View {
  const empty = h('div', { class: 'empty-slot' })
  const totals = panel({
    className: 'card-plain',
    load: (tick) => tick.get<Stats>('/api/v1/stats'),
    render: (stats) => {
      const noData = stats.totals.runs === 0 && stats.totals.records === 0
      empty.replaceChildren(noData ? firstRunMessage() : '')
      if (noData) return ''
      return h(
        'div',
        { class: 'stats-row' },
        statCard('Records stored', formatInt(stats.totals.records)),
        statCard('Assets', formatInt(stats.totals.assets)),
        statCard('Runs', formatInt(stats.totals.runs)),
        statCard('Rows rejected', formatInt(stats.totals.rejected), link(href.quality(), 'Data quality')),
      )
    },
  })
  const health = panel({
    className: 'card-plain',
    load: (tick) => tick.get<Health>('/health', [503]),
    render: (status) =>
      status.status === 'ok'
        ? ''
        : h(
            'div',
            { class: `callout ${status.status === 'down' ? 'callout-bad' : 'callout-warn'}`, role: 'note' },
            h('strong', null, status.status === 'down' ? 'Down: ' : 'Degraded: '),
            healthReason(status),
          ),
  })
  const sources = panel({
    title: 'Sources',
    load: loadSourceRows,
    render: (rows) => renderSources(rows),
  })
  const divergence = panel({
    title: 'Cross-source divergence',
    load: (tick) =>
      tick.get<Paged<DivergentAsset>>(`/api/v1/assets${query({ order: 'spread_desc', limit: 20 })}`),
    render: (page) => renderDivergence(page.data),
  })
  const root = h(
    'main',
    { id: 'main', 'data-view': 'overview', tabindex: '-1' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Overview'),
      h(
        'p',
        { class: 'subtitle' },
        'Pipeline health per source and where the sources disagree. Refreshes every 10 s.',
      ),
    ),
    health.el,
    empty,
    totals.el,
    sources.el,
    divergence.el,
  )
  return {
    root,
    async refresh(tick) {
      await Promise.all([
        health.refresh(tick),
        totals.refresh(tick),
        sources.refresh(tick),
        divergence.refresh(tick),
      ])
    },
  }
}

function firstRunMessage(): HTMLElement {
  return h(
    'section',
    { class: 'card empty-state', 'data-empty-state': '', 'aria-labelledby': 'empty-title' },
    h('h2', { id: 'empty-title' }, 'No data yet'),
    h(
      'p',
      null,
      'Once a run has loaded prices, this page shows each source’s last success and failure, the records it loaded in the last 24 h, and the assets whose sources disagree most.',
    ),
    h(
      'p',
      null,
      'The schedule runs each source on its cron (ETL_SCHEDULE, every 10 minutes by default); the first run starts a moment after ',
      h('code', null, 'coinpipe serve'),
      ' starts. To load history now, import a CSV with ',
      h('code', null, 'coinpipe etl run --file prices.csv'),
      '.',
    ),
    h('p', null, 'This page refreshes by itself: no need to reload.'),
  )
}

async function loadSourceRows(tick: Tick): Promise<SourceRow[]> {
  const [health, stats] = await Promise.all([
    tick.get<Health>('/health', [503]),
    tick.get<Stats>('/api/v1/stats'),
  ])
  learnStaleAfterMs(stats)
  const names = [
    ...new Set([...health.sources.map((s) => s.source), ...stats.sources.map((s) => s.source)]),
  ].sort()
  return Promise.all(
    names.map(async (source) => {
      const fromHealth = health.sources.find((s) => s.source === source)
      const sourceStats = stats.sources.find((s) => s.source === source)
      // A partial run loaded data too: the newer of it and the last success says how fresh the source is.
      const partial = await tick.get<Paged<Run>>(
        `/api/v1/runs${query({ source, status: 'partial', limit: 1 })}`,
      )
      const partialEnd = partial.data[0]?.finished_at ?? null
      const successEnd = sourceStats?.last_success_at ?? null
      const freshAt =
        [successEnd, partialEnd]
          .filter((t) => t !== null)
          .sort()
          .at(-1) ?? null
      return {
        source,
        enabled: fromHealth?.enabled ?? sourceStats?.enabled ?? false,
        lastRun: fromHealth?.last_run ?? null,
        stats: sourceStats,
        loaded24h: sourceStats?.loaded_24h ?? 0,
        freshAt,
        stale: freshAt === null || Date.now() - Date.parse(freshAt) > staleAfterMs(),
        healthDown: health.status === 'down',
      }
    }),
  )
}

function renderSources(rows: SourceRow[]): HTMLElement {
  if (rows.length === 0) return emptyNote('No source is enabled (SOURCES) and none has run yet.')
  return h(
    'div',
    null,
    dataTable(
      'Sources',
      [
        {
          label: 'Source',
          cell: (r) =>
            h(
              'span',
              { class: 'source-name' },
              r.source,
              r.enabled
                ? null
                : badge('disabled', 'neutral', { title: 'not in SOURCES: kept for its history' }),
            ),
        },
        {
          label: 'Last run',
          cell: (r) =>
            r.lastRun
              ? h(
                  'span',
                  { class: 'cell-stack' },
                  link(href.run(r.lastRun.id), badge(r.lastRun.status, runTone(r.lastRun.status)), {
                    'aria-label': `Run ${r.lastRun.id}: ${r.lastRun.status}`,
                  }),
                  timeEl(r.lastRun.started_at, true),
                )
              : h('span', { class: 'muted' }, r.healthDown ? 'unknown' : 'no run yet'),
        },
        {
          label: 'Runs',
          cell: (r) => (r.stats ? runCounts(r.stats.runs) : '—'),
        },
        { label: 'Last success', cell: (r) => timeEl(r.stats?.last_success_at, true) },
        { label: 'Last failure', cell: (r) => timeEl(r.stats?.last_failure_at, true) },
        {
          label: 'Error code',
          cell: (r) =>
            r.stats?.last_failure_error_code
              ? h('code', null, r.stats.last_failure_error_code)
              : h('span', { class: 'muted' }, '—'),
        },
        {
          label: 'Loaded, 24 h',
          numeric: true,
          cell: (r) => formatInt(r.loaded24h),
        },
        { label: 'Freshness', cell: (r) => freshness(r.freshAt, r.stale) },
      ],
      rows,
      { rowAttrs: (r) => ({ 'data-source': r.source }), key: 'sources' },
    ),
    h(
      'p',
      { class: 'table-note' },
      `A source is stale when its last successful run ended more than ${staleAfterText()} ago.`,
    ),
  )
}

function runCounts(runs: SourceStats['runs']): string {
  const parts = [`${formatInt(runs.succeeded)} ok`]
  if (runs.partial) parts.push(`${formatInt(runs.partial)} partial`)
  if (runs.failed) parts.push(`${formatInt(runs.failed)} failed`)
  if (runs.skipped) parts.push(`${formatInt(runs.skipped)} skipped`)
  return parts.join(' · ')
}

/** A "fresh / stale" cell: the word, a coloured dot, and the age. */
function freshness(at: string | null, stale: boolean): HTMLElement {
  return h(
    'span',
    {
      class: `freshness ${stale ? 'is-stale' : 'is-fresh'}`,
      'data-freshness': '',
      'data-stale': String(stale),
      title: at ? `last data stored ${at}` : 'no successful run yet',
    },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    stale ? 'stale' : 'fresh',
    h('span', { class: 'muted' }, ' · ', at ? timeEl(at, true) : 'never'),
  )
}

function renderDivergence(items: DivergentAsset[]): HTMLElement {
  const table = dataTable(
    'Assets whose sources disagree most',
    [
      {
        label: 'Asset',
        cell: (a) =>
          link(
            href.asset(a.id),
            h('span', null, h('strong', null, a.symbol), ' ', h('span', { class: 'muted' }, a.name)),
          ),
      },
      { label: 'Consensus (USD)', numeric: true, cell: (a) => formatPrice(a.consensus_price_usd) },
      {
        label: 'Spread',
        numeric: true,
        cell: (a) => h('span', { class: spreadClass(a.spread_pct) }, formatPct(a.spread_pct, 4)),
      },
      {
        label: 'Latest per source (USD)',
        cell: (a) =>
          h(
            'ul',
            { class: 'inline-list' },
            ...a.latest.map((l) =>
              h(
                'li',
                { class: l.stale ? 'is-stale-source' : null, title: `observed ${l.observed_at}` },
                h('span', { class: 'muted' }, `${l.source} `),
                formatPrice(l.price_usd),
                l.stale ? badge('stale', 'warn') : null,
              ),
            ),
          ),
      },
    ],
    items,
    { rowAttrs: (a) => ({ 'data-asset': a.id }), tableAttrs: { 'data-divergence': '' }, key: 'divergence' },
  )
  if (items.length === 0)
    return emptyNote(
      'No asset has prices from two fresh sources yet: divergence appears once two sources cover the same asset.',
    )
  return h(
    'div',
    null,
    table,
    h(
      'p',
      { class: 'table-note' },
      'Spread = (max − min) / median of the sources’ latest fresh prices. Stale sources are marked and left out.',
    ),
  )
}

function spreadClass(spread: number | null): string {
  if (spread === null) return 'muted'
  if (spread >= 5) return 'spread-high'
  if (spread >= 1) return 'spread-mid'
  return ''
}
