/**
 * `2024-01-31`, `2024/01/31`, optionally followed by `T` or a space and `HH:mm[:ss[.fff…]]`, then
 * optionally `Z`, `±HH`, `±HHMM` or `±HH:MM`. A time without a zone is read as UTC.
 */
const CALENDAR_PATTERN =
  /^(\d{4})([-/])(\d{2})\2(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?)?$/i

/** Unix epoch in seconds (optionally with a fraction) or in milliseconds, told apart by magnitude. */
const EPOCH_PATTERN = /^(\d{1,13})(?:\.(\d+))?$/

const MS_THRESHOLD = 1e11
// Below 1e8 s (1973-03-03) a number is far more likely a year (`2024`) or a compact date (`20240131`)
// misread as an epoch than a real 1970s timestamp, so it is rejected rather than silently misplaced.
const MIN_EPOCH_SECONDS = 1e8
const MIN_MS = Date.UTC(1970, 0, 1)
const MAX_MS_EXCLUSIVE = Date.UTC(2101, 0, 1)
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * Reads a timestamp as written by exchanges, data vendors and spreadsheets and returns it as
 * `Date.prototype.toISOString()` prints it, or `undefined` when it is not a usable time between
 * 1970-01-01 and 2100-12-31 (UTC). Epoch values count as seconds below 1e11 and milliseconds above;
 * epoch values below 1e8 seconds (before 1973-03-03) are rejected as likely years or compact dates.
 * Never throws.
 */
export function parseTimestamp(input: string | number): string | undefined {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < MIN_EPOCH_SECONDS) return undefined
    // A fractional number goes through its shortest decimal form so 1704067200.123 keeps its .123 exactly.
    return Number.isInteger(input)
      ? fromEpochMs(input >= MS_THRESHOLD ? input : input * 1000)
      : parseText(String(input))
  }
  if (typeof input !== 'string') return undefined
  // Files list many rows per timestamp in a row: remember the last one.
  if (input === lastInput) return lastResult
  lastResult = parseText(input.trim())
  lastInput = input
  return lastResult
}

let lastInput: string | undefined
let lastResult: string | undefined

function parseText(text: string): string | undefined {
  const epoch = EPOCH_PATTERN.exec(text)
  if (epoch !== null) return parseEpoch(epoch[1] ?? '', epoch[2])
  const calendar = CALENDAR_PATTERN.exec(text)
  return calendar === null ? undefined : parseCalendar(calendar)
}

function parseEpoch(whole: string, fraction: string | undefined): string | undefined {
  const value = Number(whole)
  if (value < MIN_EPOCH_SECONDS) return undefined
  if (value >= MS_THRESHOLD) return fromEpochMs(value)
  const fractionMs = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'))
  return fromEpochMs(value * 1000 + fractionMs)
}

function parseCalendar(match: RegExpExecArray): string | undefined {
  const year = Number(match[1])
  const month = Number(match[3])
  const day = Number(match[4])
  const hour = match[5] === undefined ? 0 : Number(match[5])
  const minute = match[6] === undefined ? 0 : Number(match[6])
  const second = match[7] === undefined ? 0 : Number(match[7])
  const ms = match[8] === undefined ? 0 : Number(match[8].slice(0, 3).padEnd(3, '0'))

  // The year bound also keeps Date.UTC from reading years 0–99 as 1900–1999.
  if (year < 1969 || year > 2101 || month < 1 || month > 12) return undefined
  if (day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined

  let offsetMinutes = 0
  if (match[10] !== undefined) {
    const offsetHours = Number(match[11])
    const offsetMins = match[12] === undefined ? 0 : Number(match[12])
    if (offsetHours > 23 || offsetMins > 59) return undefined
    offsetMinutes = (match[10] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins)
  }

  return fromEpochMs(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000)
}

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29
  return DAYS_IN_MONTH[month - 1] ?? 0
}

function fromEpochMs(ms: number): string | undefined {
  if (!(ms >= MIN_MS && ms < MAX_MS_EXCLUSIVE)) return undefined
  return new Date(Math.trunc(ms)).toISOString()
}
