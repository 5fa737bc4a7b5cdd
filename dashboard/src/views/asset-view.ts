import { ApiError, query, type Tick } from '../api.js'
import type { AssetDetail, Conflict, LatestValue, Paged } from '../api-types.js'
import { badge, dataTable, emptyNote, h, link, statCard } from '../dom.js'
import { formatCompactUsd, formatPct, formatPrice, formatUsd, timeEl } from '../format.js'
import { panel } from '../panel.js'
import { median } from '../price-series.js'
import { href } from '../router.js'
import { priceHistoryPanel, type RangeKey } from './price-history-panel.js'
import type { View } from './view.js'

/** Conflict pages read to find the ones naming this asset (they are few; this bounds a surprise). */
const CONFLICT_PAGES = 5

export function assetView(id: string): View {
  const path = `/api/v1/assets/${encodeURIComponent(id)}`
  const title = h('h1', { tabindex: '-1' }, id)
  const subtitle = h('p', { class: 'subtitle' }, 'Canonical asset')
  let currentTick: Tick | undefined

  const figures = panel({
    title: 'Now',
    className: 'figures-card',
    load: (tick) => tick.get<{ data: AssetDetail }>(path),
    render: ({ data }) => {
      title.replaceChildren(data.name, ' ', h('span', { class: 'symbol' }, data.symbol))
      subtitle.textContent = `Canonical asset ${data.id}, seen by ${data.latest.length} ${data.latest.length === 1 ? 'source' : 'sources'}`
      return renderFigures(data)
    },
  })
  const latest = panel({
    title: 'Latest per source',
    load: (tick) => tick.get<{ data: AssetDetail }>(path),
    render: ({ data }) => renderLatest(data.latest),
  })
  const aliases = panel({
    title: 'Aliases',
    load: (tick) => tick.get<{ data: AssetDetail }>(path),
    render: ({ data }) =>
      data.aliases.length === 0
        ? emptyNote('No alias: no source maps to this asset.')
        : dataTable(
            'Aliases',
            [
              { label: 'Source', cell: (a) => a.source },
              { label: 'Source id', cell: (a) => h('code', null, a.source_asset_id) },
              { label: 'Method', cell: (a) => a.method },
              { label: 'Confidence', numeric: true, cell: (a) => a.confidence.toFixed(2) },
            ],
            data.aliases,
            { key: 'aliases' },
          ),
  })
  const conflicts = panel({
    title: 'Identity conflicts',
    load: async (tick) => {
      const found: Conflict[] = []
      let cursor: string | undefined
      for (let i = 0; i < CONFLICT_PAGES; i++) {
        const page = await tick.get<Paged<Conflict>>(
          `/api/v1/assets/conflicts${query({ limit: 1000, cursor })}`,
        )
        found.push(
          ...page.data.filter((c) => c.asset_id === id || c.candidates.some((k) => k.asset_id === id)),
        )
        cursor = page.page.next_cursor ?? undefined
        if (cursor === undefined) break
      }
      return found
    },
    render: (items) => renderConflicts(items, id),
  })
  const history = priceHistoryPanel(id, async (): Promise<RangeKey> => {
    // A first visit shows 24 h, unless the asset's newest price is older: then everything.
    const detail = await currentTick?.get<{ data: AssetDetail }>(path).catch(() => undefined)
    const newest = Math.max(...(detail?.data.latest ?? []).map((l) => Date.parse(l.observed_at)))
    return Number.isFinite(newest) && Date.now() - newest > 86_400_000 ? 'all' : '24h'
  })

  const content = h(
    'div',
    { class: 'view-body' },
    h('div', { class: 'asset-grid' }, history.el, figures.el),
    latest.el,
    h('div', { class: 'two-col' }, aliases.el, conflicts.el),
  )
  const missing = h('div', { class: 'view-body' })
  missing.hidden = true
  const root = h(
    'main',
    { id: 'main', 'data-view': 'asset', tabindex: '-1' },
    h(
      'div',
      { class: 'page-head' },
      h('p', { class: 'crumbs' }, link(href.overview(), 'Overview'), ' / Asset'),
      title,
      subtitle,
    ),
    missing,
    content,
  )
  return {
    root,
    async refresh(tick) {
      currentTick = tick
      // An unknown id is one message, not a failure in every panel.
      const notFound = await tick.get<{ data: AssetDetail }>(path).then(
        () => undefined,
        (err: unknown) => (err instanceof ApiError && err.status === 404 ? err : undefined),
      )
      missing.hidden = notFound === undefined
      content.hidden = notFound !== undefined
      if (notFound) {
        subtitle.textContent = 'Unknown asset'
        missing.replaceChildren(
          h(
            'section',
            { class: 'card' },
            h('p', { class: 'inline-error' }, h('strong', null, 'No such asset: '), notFound.detail),
            h(
              'p',
              null,
              'Search for it by symbol or name in the header, or go back to the ',
              link(href.overview(), 'overview'),
              '.',
            ),
          ),
        )
        return
      }
      await Promise.all([
        figures.refresh(tick),
        latest.refresh(tick),
        aliases.refresh(tick),
        conflicts.refresh(tick),
        history.refresh(tick),
      ])
    },
    destroy: history.destroy,
  }
}

function renderFigures(asset: AssetDetail): HTMLElement {
  const fresh = asset.latest.filter((l) => !l.stale)
  const mid = (pick: (l: LatestValue) => number | null) =>
    median(fresh.map(pick).filter((v): v is number => v !== null))
  const change = mid((l) => l.change_24h_pct)
  return h(
    'div',
    { class: 'figures' },
    statCard('Consensus price', formatUsd(asset.consensus_price_usd), 'median of fresh sources', {
      'data-consensus': asset.consensus_price_usd ?? '',
    }),
    statCard('Spread', formatPct(asset.spread_pct, 4), '(max − min) / median'),
    statCard('Market cap', formatCompactUsd(mid((l) => l.market_cap_usd)), 'median of fresh sources'),
    statCard('Volume, 24 h', formatCompactUsd(mid((l) => l.volume_24h_usd)), 'median of fresh sources'),
    statCard(
      'Change, 24 h',
      h('span', { class: change === null ? '' : change < 0 ? 'down' : 'up' }, formatPct(change)),
    ),
    asset.stale_sources.length > 0
      ? h(
          'p',
          { class: 'stale-note' },
          badge('stale', 'warn'),
          ` left out: ${asset.stale_sources.join(', ')}`,
        )
      : null,
  )
}

function renderLatest(rows: LatestValue[]): HTMLElement {
  if (rows.length === 0)
    return emptyNote('No record yet: the asset is known, but no price has been loaded for it.')
  return dataTable(
    'Latest value per source',
    [
      { label: 'Source', cell: (l) => l.source },
      { label: 'Price (USD)', numeric: true, cell: (l) => formatPrice(l.price_usd) },
      { label: 'Market cap', numeric: true, cell: (l) => formatCompactUsd(l.market_cap_usd) },
      { label: 'Volume, 24 h', numeric: true, cell: (l) => formatCompactUsd(l.volume_24h_usd) },
      { label: 'Change, 24 h', numeric: true, cell: (l) => formatPct(l.change_24h_pct) },
      { label: 'Rank', numeric: true, cell: (l) => l.rank ?? '—' },
      { label: 'Observed', cell: (l) => timeEl(l.observed_at) },
      {
        label: 'State',
        cell: (l) =>
          l.stale
            ? badge('stale', 'warn', { title: 'trails the newest observation: left out of the consensus' })
            : badge('fresh', 'ok'),
      },
    ],
    rows,
    { rowAttrs: (l) => ({ 'data-source': l.source }), key: 'latest' },
  )
}

function renderConflicts(items: Conflict[], id: string): HTMLElement {
  if (items.length === 0) return emptyNote('No identity conflict involves this asset.')
  return dataTable(
    'Identity conflicts involving this asset',
    [
      {
        label: 'Source asset',
        cell: (c) => h('span', null, h('code', null, `${c.source}:${c.source_asset_id}`), ` ${c.symbol}`),
      },
      { label: 'Reason', cell: (c) => badge(c.reason, 'warn') },
      { label: 'Detail', cell: (c) => c.detail },
      {
        label: 'Kept as / could be',
        cell: (c) =>
          h(
            'ul',
            { class: 'inline-list' },
            h(
              'li',
              null,
              c.asset_id === id ? h('strong', null, c.asset_id) : link(href.asset(c.asset_id), c.asset_id),
            ),
            ...c.candidates.map((k) =>
              h(
                'li',
                { title: k.why },
                k.asset_id === id ? h('strong', null, k.asset_id) : link(href.asset(k.asset_id), k.asset_id),
              ),
            ),
          ),
      },
      { label: 'Detected', cell: (c) => timeEl(c.detected_at) },
    ],
    items,
    { key: 'conflicts' },
  )
}
