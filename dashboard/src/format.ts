import { h, type Tone } from './dom.js'

/** A price as the API gives it, up to 8 decimals, grouped: `100,426.24357035`. */
export function formatPrice(value: number | null | undefined): string {
  return value === null || value === undefined
    ? '—'
    : value.toLocaleString('en-US', { maximumFractionDigits: 8 })
}

/** `$100,426.24`, with enough decimals for a small price (`$0.00001034`). */
export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  const abs = Math.abs(value)
  const digits = abs >= 1 ? 2 : abs >= 0.01 ? 4 : 8
  return `$${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: abs >= 1 ? 2 : 0 })}`
}

/** `$2.00 T`, `$178.27 B`: market caps and volumes. */
export function formatCompactUsd(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  return `$${value.toLocaleString('en-US', { notation: 'compact', maximumFractionDigits: 2 })}`
}

export function formatInt(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : value.toLocaleString('en-US')
}

export function formatPct(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined
    ? '—'
    : `${value.toLocaleString('en-US', { maximumFractionDigits: digits })} %`
}

/** `850 ms`, `12.3 s`, `4 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`
  const min = Math.floor(s / 60)
  if (min < 60) return joinUnits(min, 'min', Math.round(s % 60), 's')
  const hours = Math.floor(min / 60)
  if (hours < 48) return joinUnits(hours, 'h', min % 60, 'min')
  return joinUnits(Math.floor(hours / 24), 'd', hours % 24, 'h')
}

/** `4 min 5 s`, or `10 min` when the smaller unit is 0. */
function joinUnits(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`
}

/** `just now`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—'
  const ms = now - Date.parse(iso)
  if (ms < 0) return 'in the future'
  if (ms < 45_000) return 'just now'
  const min = Math.round(ms / 60_000)
  if (min < 60) return `${min} min ago`
  const hours = Math.round(min / 60)
  if (hours < 48) return `${hours} h ago`
  return `${Math.round(hours / 24)} d ago`
}

const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})

const DATE_TIME_YEAR = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
})

/** `6 Dec, 20:08:40` in the browser's zone. */
export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—'
  const date = new Date(iso)
  return date.getFullYear() === new Date().getFullYear()
    ? DATE_TIME.format(date)
    : DATE_TIME_YEAR.format(date)
}

/**
 * A `<time>` showing the local time, or how long ago (kept current by
 * {@link updateRelativeTimes}), with the exact ISO instant in its tooltip.
 */
export function timeEl(iso: string | null | undefined, relative = false): Node {
  if (!iso) return document.createTextNode('—')
  return h(
    'time',
    { datetime: iso, title: `${formatTime(iso)} (${iso})`, 'data-relative': relative ? '' : null },
    relative ? formatAgo(iso) : formatTime(iso),
  )
}

/** Moves every "… ago" on the page forward, in place: nothing is re-rendered. */
export function updateRelativeTimes(root: ParentNode, now = Date.now()): void {
  for (const el of root.querySelectorAll('time[data-relative]')) {
    const text = formatAgo(el.getAttribute('datetime'), now)
    if (el.textContent !== text) el.textContent = text
  }
}

/** How a run status reads: the tone of its badge. */
export function runTone(status: string): Tone {
  switch (status) {
    case 'succeeded':
      return 'ok'
    case 'partial':
      return 'warn'
    case 'failed':
      return 'bad'
    case 'running':
    case 'queued':
      return 'info'
    default:
      return 'neutral'
  }
}
