import { isAbort, query, Tick } from '../api.js'
import type { Paged, PriceRecord } from '../api-types.js'
import { h } from '../dom.js'
import { formatDuration, formatInt, formatTime } from '../format.js'
import { showError } from '../panel.js'
import { PriceChart } from '../price-chart.js'
import { bucketWidthMs, buildPriceSeries, type Observation } from '../price-series.js'
import { staleAfterMs } from '../thresholds.js'

export type RangeKey = '24h' | '7d' | '30d' | 'all'

const RANGES: { key: RangeKey; label: string; ms: number | undefined }[] = [
  { key: '24h', label: '24 h', ms: 86_400_000 },
  { key: '7d', label: '7 d', ms: 7 * 86_400_000 },
  { key: '30d', label: '30 d', ms: 30 * 86_400_000 },
  { key: 'all', label: 'All', ms: undefined },
]

/** Records per page, and pages read per load: past them the chart says it shows only the newest. */
const PAGE_SIZE = 1000
const MAX_PAGES = 20

/**
 * The asset's price history: range buttons, the chart, and what it covers. A first load reads the
 * whole range (newest first, up to {@link MAX_PAGES} pages); each tick after reads only what is
 * newer than the newest record held, so polling stays cheap.
 */
export function priceHistoryPanel(assetId: string, initialRange: () => Promise<RangeKey>) {
  const chart = new PriceChart()
  const note = h('p', { class: 'chart-note', 'aria-live': 'polite' })
  const error = h('div', { class: 'panel-error', role: 'status' })
  const buttons = RANGES.map((r) =>
    h('button', { type: 'button', class: 'range', 'data-range': r.key, 'aria-pressed': 'false' }, r.label),
  )
  const el = h(
    'section',
    { class: 'card chart-card', 'aria-labelledby': 'price-title' },
    h(
      'div',
      { class: 'card-head' },
      h('h2', { id: 'price-title' }, 'Price history (USD)'),
      h('div', { class: 'card-actions segmented', role: 'group', 'aria-label': 'Time range' }, ...buttons),
    ),
    error,
    chart.el,
    note,
  )

  let range: RangeKey | undefined
  const records = new Map<number, PriceRecord>()
  let capped = false
  let generation = 0
  let busy = false
  let drawn = ''

  const setRange = (key: RangeKey) => {
    range = key
    buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(RANGES[i]?.key === key)))
  }

  async function readPages(tick: Tick, from: string | undefined, gen: number) {
    const found: PriceRecord[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await tick.get<Paged<PriceRecord>>(
        `/api/v1/records${query({ asset: assetId, from, limit: PAGE_SIZE, cursor })}`,
      )
      if (gen !== generation) return undefined
      found.push(...page.data)
      cursor = page.page.next_cursor ?? undefined
      pages++
    } while (cursor !== undefined && pages < MAX_PAGES)
    return { found, capped: cursor !== undefined }
  }

  async function load(tick: Tick, full: boolean) {
    if (busy && !full) return
    const gen = full ? ++generation : generation
    busy = true
    try {
      const spec = RANGES.find((r) => r.key === range)
      const windowStart = spec?.ms === undefined ? undefined : Date.now() - spec.ms
      const newest = full
        ? undefined
        : Math.max(...[...records.values()].map((r) => Date.parse(r.observed_at)))
      const from =
        newest !== undefined && Number.isFinite(newest)
          ? new Date(newest).toISOString()
          : windowStart === undefined
            ? undefined
            : new Date(windowStart).toISOString()
      const result = await readPages(tick, from, gen)
      if (!result) return
      if (full) {
        records.clear()
        capped = result.capped
      }
      for (const r of result.found) records.set(r.id, r)
      if (windowStart !== undefined)
        for (const [id, r] of records) if (Date.parse(r.observed_at) < windowStart) records.delete(id)
      error.replaceChildren()
      draw(spec?.ms)
    } catch (err) {
      if (!isAbort(err)) showError(error, err, records.size > 0)
    } finally {
      if (gen === generation) busy = false
    }
  }

  function draw(windowMs: number | undefined) {
    const observations: Observation[] = []
    for (const r of records.values())
      if (r.price_usd !== null)
        observations.push({ source: r.source, observedAt: Date.parse(r.observed_at), priceUsd: r.price_usd })
    const times = observations.map((o) => o.observedAt)
    const span = windowMs ?? (times.length ? Math.max(...times) - Math.min(...times) : 0)
    const series = buildPriceSeries(observations, {
      bucketMs: bucketWidthMs(span),
      staleAfterMs: staleAfterMs(),
    })
    const fingerprint = JSON.stringify([series, capped])
    if (fingerprint === drawn) return
    drawn = fingerprint
    chart.update(series)
    const sources = series.sources.length
    note.replaceChildren(
      observations.length === 0
        ? `No prices ${range === 'all' ? 'stored for this asset yet' : 'in this range: try a wider one'}.`
        : `${formatInt(observations.length)} observations from ${sources} ${sources === 1 ? 'source' : 'sources'}` +
            ` (${formatTime(Math.min(...times))} – ${formatTime(Math.max(...times))}), in ${formatDuration(series.bucketMs)} buckets.` +
            ' Consensus: median of the sources’ latest fresh prices per bucket. Drag to zoom, double-click to reset.',
      capped
        ? h(
            'strong',
            { class: 'capped', 'data-capped': '' },
            ` Only the newest ${formatInt(PAGE_SIZE * MAX_PAGES)} records of this range are shown (${MAX_PAGES} pages): pick a shorter range for the rest.`,
          )
        : '',
    )
  }

  buttons.forEach((button, i) =>
    button.addEventListener('click', () => {
      const key = RANGES[i]?.key
      if (!key || key === range) return
      setRange(key)
      void load(new Tick(new AbortController().signal), true)
    }),
  )

  return {
    el,
    async refresh(tick: Tick) {
      if (range === undefined) {
        const initial = await initialRange()
        // A range button pressed meanwhile has already started its own load.
        if (range === undefined) {
          setRange(initial)
          return load(tick, true)
        }
      }
      return load(tick, false)
    },
    destroy: () => {
      generation++
      chart.destroy()
    },
  }
}
