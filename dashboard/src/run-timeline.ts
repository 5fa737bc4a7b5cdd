import type { Run } from './api-types.js'
import { h } from './dom.js'
import { formatDuration, formatTime } from './format.js'
import { href } from './router.js'

const STATUSES = ['succeeded', 'partial', 'failed', 'running', 'queued', 'skipped'] as const

/** Height of one lane of bars. */
const LANE_PX = 24
/**
 * The room a bar takes at the narrowest track (its 8 px minimum on a phone's 540 px, plus a gap), in
 * percent: bars closer than this go to another lane, so no bar ever hides another.
 */
const MIN_BAR_PCT = 2
const MAX_LANES = 4

/** The first lane where each span (start %, end %, sorted by start) clears the bar before it. */
function assignLanes(spans: readonly [number, number][]): number[] {
  const laneEnds: number[] = []
  return spans.map(([start, end]) => {
    let lane = laneEnds.findIndex((laneEnd) => laneEnd <= start)
    // A burst of runs stacks at most MAX_LANES deep; past that, bars share the emptiest lane.
    if (lane === -1)
      lane = laneEnds.length < MAX_LANES ? laneEnds.length : laneEnds.indexOf(Math.min(...laneEnds))
    laneEnds[lane] = Math.max(end, start + MIN_BAR_PCT)
    return lane
  })
}

/** Where a run sits on the time axis: its start (or when it was queued) and its end, in ms. */
function span(run: Run, now: number): { start: number; end: number } | undefined {
  const startText = run.started_at ?? run.queued_at
  if (!startText) return undefined
  const start = Date.parse(startText)
  const end = run.finished_at
    ? Date.parse(run.finished_at)
    : run.status === 'running' || run.status === 'queued'
      ? now
      : start
  return { start, end: Math.max(start, end) }
}

function describe(run: Run): string {
  const name = run.id === null ? `Queued ${run.source} run` : `Run ${run.id}`
  const when = run.started_at
    ? `started ${formatTime(run.started_at)}`
    : `queued ${formatTime(run.queued_at)}`
  const took = run.duration_ms !== null ? `, took ${formatDuration(run.duration_ms)}` : ''
  const waiting = run.waiting_for ? `, waiting for ${run.waiting_for}` : ''
  return `${name} (${run.source}): ${run.status}, ${when}${took}${waiting}, ${run.loaded} loaded, ${run.rejected} rejected`
}

/**
 * Runs on one time axis, a row per source: each bar placed by its start, as wide as it took,
 * coloured and patterned by status and named by its title and label; a bar is a link to the run.
 */
export function runTimeline(runs: readonly Run[], now = Date.now()): HTMLElement {
  const placed = runs.flatMap((run) => {
    const s = span(run, now)
    return s ? [{ run, ...s }] : []
  })
  const sources = [...new Set(placed.map((p) => p.run.source))].sort()
  const min = Math.min(...placed.map((p) => p.start))
  const max = Math.max(...placed.map((p) => p.end), min + 60_000)
  const width = max - min
  const pct = (t: number) => ((t - min) / width) * 100

  const ticks = Array.from({ length: 5 }, (_, i) => min + (width * i) / 4)
  const tickLabel = (t: number) =>
    new Date(t).toLocaleString('en-GB', {
      hour12: false,
      hour: '2-digit',
      minute: '2-digit',
      ...(width < 3_600_000 ? { second: '2-digit' } : {}),
      ...(width >= 86_400_000 ? { day: 'numeric', month: 'short' } : {}),
    })
  const axis = h(
    'div',
    { class: 'timeline-axis', 'aria-hidden': 'true' },
    ...ticks.map((t, i) =>
      h(
        'span',
        { style: `left:${(i / 4) * 100}%`, class: i === 4 ? 'last' : i === 0 ? 'first' : null },
        tickLabel(t),
      ),
    ),
  )
  const rows = sources.map((source) => {
    const mine = placed.filter((p) => p.run.source === source).sort((a, b) => a.start - b.start)
    const lanes = assignLanes(mine.map((p) => [pct(p.start), pct(p.end)]))
    const laneCount = Math.max(1, ...lanes.map((l) => l + 1))
    return h(
      'div',
      { class: 'timeline-row', role: 'listitem', style: `height:${laneCount * LANE_PX + 16}px` },
      h('div', { class: 'timeline-label' }, source),
      h(
        'ul',
        { class: 'timeline-track', 'aria-label': `${source} runs, oldest first` },
        ...mine.map((p, i) => {
          const label = describe(p.run)
          const left = Math.min(pct(p.start), 100 - MIN_BAR_PCT)
          const attrs = {
            class: `bar status-${p.run.status}`,
            style: `left:${left.toFixed(3)}%;width:${(pct(p.end) - pct(p.start)).toFixed(3)}%;top:${8 + (lanes[i] ?? 0) * LANE_PX}px`,
            title: label,
            'aria-label': label,
            'data-status': p.run.status,
          }
          return h(
            'li',
            null,
            p.run.id === null
              ? h(
                  'span',
                  {
                    ...attrs,
                    tabindex: '0',
                    'data-job-id': p.run.job_id ?? '',
                    'data-key': `job:${p.run.job_id ?? ''}`,
                  },
                  h('span', { class: 'visually-hidden' }, p.run.status),
                )
              : h(
                  'a',
                  { ...attrs, href: href.run(p.run.id), 'data-run-id': p.run.id },
                  h('span', { class: 'visually-hidden' }, p.run.status),
                ),
          )
        }),
      ),
    )
  })
  const legend = h(
    'ul',
    { class: 'timeline-legend', 'aria-label': 'Statuses' },
    ...STATUSES.map((status) =>
      h('li', null, h('span', { class: `legend-bar status-${status}`, 'aria-hidden': 'true' }), status),
    ),
  )
  return h(
    'div',
    { class: 'timeline', 'data-timeline': '' },
    legend,
    h(
      'div',
      { class: 'timeline-wrap', 'data-key': 'timeline' },
      h(
        'div',
        { class: 'timeline-inner' },
        axis,
        h('div', { role: 'list', class: 'timeline-rows' }, ...rows),
      ),
    ),
  )
}
