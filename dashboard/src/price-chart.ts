import uPlot from 'uplot'
import { h, setAttrs } from './dom.js'
import { formatDuration, formatPct, formatPrice, formatTime } from './format.js'
import { lastKnown, type PriceSeries } from './price-series.js'

const SOURCE_COLOURS: Record<string, string> = {
  coingecko: '#2563eb',
  coinpaprika: '#ea580c',
  csv: '#16a34a',
  manual: '#9333ea',
}
const SPARE_COLOURS = ['#0891b2', '#db2777', '#ca8a04', '#4f46e5']
const CONSENSUS_COLOUR = '#0f172a'

export function sourceColour(source: string, index: number): string {
  return SOURCE_COLOURS[source] ?? SPARE_COLOURS[index % SPARE_COLOURS.length] ?? '#64748b'
}

/**
 * The asset's price chart: one uPlot line per source plus the consensus, a hover (or arrow-key)
 * tooltip, and a size that follows its container. `data-series` and `data-points` describe what it
 * draws, for tests and for anyone inspecting the page.
 */
export class PriceChart {
  readonly el: HTMLElement
  private readonly plotBox: HTMLElement
  private readonly tooltip: HTMLElement
  private readonly legend: HTMLElement
  private readonly empty: HTMLElement
  private readonly observer: ResizeObserver
  private plot: uPlot | undefined
  private data: PriceSeries | undefined

  constructor() {
    this.tooltip = h('div', { class: 'chart-tooltip', 'data-chart-tooltip': '', role: 'status' })
    this.tooltip.hidden = true
    this.empty = h('p', { class: 'chart-empty' }, 'No prices in this range.')
    this.empty.hidden = true
    this.plotBox = h('div', { class: 'chart-plot' })
    this.legend = h('ul', { class: 'chart-legend', 'aria-label': 'Series' })
    this.el = h(
      'div',
      {
        class: 'chart',
        'data-chart': 'price',
        'data-series': '[]',
        'data-points': '[]',
        tabindex: '0',
        role: 'group',
        'aria-label': 'Price chart. Use the left and right arrow keys to read the values at each time.',
      },
      this.legend,
      this.plotBox,
      this.empty,
      this.tooltip,
    )
    this.observer = new ResizeObserver(() => this.resize())
    this.observer.observe(this.el)
    this.el.addEventListener('keydown', (event) => this.onKey(event))
    this.el.addEventListener('blur', () => this.hideCursor())
  }

  /** Draws `series`; keeps the user's zoom when the new data only extends the old. */
  update(series: PriceSeries): void {
    const labels = [...series.sources, 'consensus']
    const columns = [...series.bySource, series.consensus]
    setAttrs(this.el, {
      'data-series': JSON.stringify(labels),
      'data-points': JSON.stringify(columns.map((c) => c.filter((v) => v !== null).length)),
      'data-bucket-ms': series.bucketMs,
    })
    const previous = this.data
    this.data = series
    this.empty.hidden = series.xs.length > 0
    this.plotBox.hidden = series.xs.length === 0
    const aligned: uPlot.AlignedData = [series.xs, ...columns]
    const sameSeries = previous && JSON.stringify([...previous.sources]) === JSON.stringify(series.sources)
    if (this.plot && sameSeries && previous) {
      const x = this.plot.scales.x
      const zoomed =
        x?.min !== undefined &&
        x.max !== undefined &&
        ((previous.xs[0] ?? 0) < x.min || (previous.xs.at(-1) ?? 0) > x.max)
      this.plot.setData(aligned, !zoomed)
      this.refreshTooltip()
      return
    }
    this.plot?.destroy()
    this.renderLegend(labels)
    this.plot = new uPlot(this.options(series.sources), aligned, this.plotBox)
  }

  destroy(): void {
    this.observer.disconnect()
    this.plot?.destroy()
    this.plot = undefined
  }

  private options(sources: readonly string[]): uPlot.Options {
    const { width, height } = this.size()
    const axis = {
      stroke: '#5b6676',
      grid: { stroke: '#eef1f5', width: 1 },
      ticks: { stroke: '#e3e7ee', width: 1 },
      font: '12px system-ui, sans-serif',
    }
    return {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      scales: { x: { time: true } },
      series: [
        {},
        ...sources.map((source, i) => ({
          label: source,
          stroke: sourceColour(source, i),
          width: 1.5,
          spanGaps: true,
        })),
        { label: 'consensus', stroke: CONSENSUS_COLOUR, width: 2, dash: [6, 4], spanGaps: true },
      ],
      axes: [
        axis,
        {
          ...axis,
          size: 72,
          values: (_u: uPlot, ticks: number[]) =>
            ticks.map((v) => v.toLocaleString('en-US', { notation: 'compact', maximumFractionDigits: 6 })),
        },
      ],
      hooks: { setCursor: [() => this.refreshTooltip()] },
    }
  }

  private renderLegend(labels: readonly string[]): void {
    this.legend.replaceChildren(
      ...labels.map((label, i) =>
        h(
          'li',
          null,
          h('span', {
            class: label === 'consensus' ? 'swatch swatch-dashed' : 'swatch',
            style: `--swatch:${label === 'consensus' ? CONSENSUS_COLOUR : sourceColour(label, i)}`,
            'aria-hidden': 'true',
          }),
          label === 'consensus' ? 'consensus (median)' : label,
        ),
      ),
    )
  }

  private size(): { width: number; height: number } {
    const width = Math.max(240, Math.floor(this.el.clientWidth || 600))
    return { width, height: width < 520 ? 220 : 300 }
  }

  private resize(): void {
    if (!this.plot) return
    const { width, height } = this.size()
    if (width !== this.plot.width || height !== this.plot.height) this.plot.setSize({ width, height })
  }

  private refreshTooltip(): void {
    const plot = this.plot
    const data = this.data
    const idx = plot?.cursor.idx
    if (!plot || !data || idx === null || idx === undefined || (plot.cursor.left ?? -1) < 0) {
      this.tooltip.hidden = true
      return
    }
    const x = data.xs[idx]
    if (x === undefined) return
    const lines = [...data.sources, 'consensus'].map((label, i) => {
      const values = i < data.sources.length ? (data.bySource[i] ?? []) : data.consensus
      const known = lastKnown(values, idx)
      const carried = known !== undefined && known.index !== idx
      const colour = label === 'consensus' ? CONSENSUS_COLOUR : sourceColour(label, i)
      return h(
        'div',
        { class: 'tip-line', 'data-series-value': label, 'data-value': known ? String(known.value) : '' },
        h('span', { class: 'swatch', style: `--swatch:${colour}`, 'aria-hidden': 'true' }),
        `${label}: ${known ? formatPrice(known.value) : '—'}`,
        carried
          ? h('span', { class: 'tip-age' }, ` (as of ${formatTime((data.xs[known.index] ?? 0) * 1000)})`)
          : null,
      )
    })
    const spread = data.spreadPct[idx]
    this.tooltip.replaceChildren(
      h(
        'div',
        { class: 'tip-time' },
        formatTime(x * 1000),
        h('span', { class: 'tip-bucket' }, ` · ${formatDuration(data.bucketMs)} bucket`),
      ),
      ...lines,
      h('div', { class: 'tip-spread', 'data-value': spread ?? '' }, `spread: ${formatPct(spread, 4)}`),
    )
    this.tooltip.hidden = false
    this.placeTooltip(plot)
  }

  private placeTooltip(plot: uPlot): void {
    const frame = this.el.getBoundingClientRect()
    const over = plot.over.getBoundingClientRect()
    const left = over.left - frame.left + (plot.cursor.left ?? 0)
    const top = over.top - frame.top + (plot.cursor.top ?? 0)
    const width = this.tooltip.offsetWidth
    const x = left + 14 + width > frame.width ? Math.max(0, left - 14 - width) : left + 14
    const y = Math.min(Math.max(0, top - 20), Math.max(0, frame.height - this.tooltip.offsetHeight))
    this.tooltip.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`
  }

  private onKey(event: KeyboardEvent): void {
    const plot = this.plot
    const data = this.data
    if (!plot || !data || data.xs.length === 0) return
    if (event.key === 'Escape') return this.hideCursor()
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return
    event.preventDefault()
    const current = plot.cursor.idx ?? (event.key === 'ArrowLeft' ? data.xs.length : -1)
    const idx = Math.min(data.xs.length - 1, Math.max(0, current + (event.key === 'ArrowLeft' ? -1 : 1)))
    const price = lastKnown(data.consensus, idx)?.value
    plot.setCursor({
      left: plot.valToPos(data.xs[idx] ?? 0, 'x'),
      top: price === undefined ? 10 : plot.valToPos(price, 'y'),
    })
  }

  private hideCursor(): void {
    this.plot?.setCursor({ left: -10, top: -10 })
    this.tooltip.hidden = true
  }
}
