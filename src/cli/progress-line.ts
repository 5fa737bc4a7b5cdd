/** Where one source's run stands, as the `etl run` progress line shows it. */
export interface ProgressState {
  readonly source: string
  /** Rows read so far (extracted), over every stream of the run. */
  readonly rows: number
  readonly batches: number
  readonly rejected: number
  readonly elapsedMs: number
  /** How far through the current stream, 0–1, when the stream knows its size (a CSV file does). */
  readonly fraction?: number
  /** The run has ended: the bar is full and no longer moves. */
  readonly done?: boolean
}

const MIN_BAR = 10
const MAX_BAR = 30
const FULL = '█'
const EMPTY = '░'
const PULSE = 4

/**
 * One line, pure (state → text): `csv [██████░░░░░░]  42% 120,000 rows · 40,000/s · 24 batches · 3
 * rejected · 3.0s`. A stream of unknown size gets a pulse that moves with the clock. The line fits in
 * `columns - 1` characters, so the terminal never wraps it: the bar narrows, then the elapsed time
 * goes, then the bar.
 */
export function renderProgressLine(state: ProgressState, columns = 80): string {
  const seconds = state.elapsedMs / 1000
  const rate = seconds > 0 ? Math.round(state.rows / seconds) : 0
  const counts = [
    `${count(state.rows)} rows`,
    `${count(rate)}/s`,
    `${count(state.batches)} ${state.batches === 1 ? 'batch' : 'batches'}`,
    `${count(state.rejected)} rejected`,
  ]
  const max = Math.max(columns - 1, 10)
  for (const text of [[...counts, `${seconds.toFixed(1)}s`].join(' · '), counts.join(' · ')]) {
    // `source [bar] 100% text`
    const room = max - (state.source.length + 1 + 2 + 5 + 1 + text.length)
    if (room >= MIN_BAR) return `${state.source} ${bar(state, Math.min(room, MAX_BAR))} ${text}`
  }
  const barless = `${state.source} ${counts.join(' · ')}`
  return barless.length <= max ? barless : `${barless.slice(0, max - 1)}…`
}

function bar(state: ProgressState, width: number): string {
  if (state.done) return `[${FULL.repeat(width)}] 100%`
  if (state.fraction !== undefined && Number.isFinite(state.fraction)) {
    const fraction = Math.min(Math.max(state.fraction, 0), 1)
    const filled = Math.floor(fraction * width)
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4)
    return `[${FULL.repeat(filled)}${EMPTY.repeat(width - filled)}] ${percent}`
  }
  // Unknown size: a block sweeping back and forth, one step per 100 ms.
  const span = width - PULSE
  const step = Math.floor(state.elapsedMs / 100) % (2 * span)
  const at = step <= span ? step : 2 * span - step
  return `[${' '.repeat(at)}${FULL.repeat(PULSE)}${' '.repeat(span - at)}]     `
}

/** 1234567 → `1,234,567`, whatever the machine's locale. */
export function count(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}
