import { parseDecimal } from '../domain/parse-decimal.js'
import { parseTimestamp } from '../domain/parse-timestamp.js'

/**
 * Readers for market fields of JSON payloads, shared by the live sources. Numbers may arrive as
 * JSON numbers (exponents included), numeric strings or `""` (CoinPaprika's "missing"); every
 * reader returns `null` for unknown, never 0 where 0 means unknown.
 */

/** A time in ISO (with or without a zone: UTC), Unix seconds or milliseconds. */
export function readObservedAt(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? parseTimestamp(value) : undefined
}

function readNumber(value: unknown): number | null | undefined {
  if (value === null || value === undefined || value === '') return null
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string') return parseDecimal(value)
  return undefined
}

/** A price: required and not negative; 0 is a real (dead coin) price. */
export function readPrice(value: unknown): number | undefined {
  const n = readNumber(value)
  return n === null || n === undefined || n < 0 ? undefined : n
}

/**
 * A non-negative amount (market cap, supply, volume). 0 means unknown (CoinPaprika `max_supply: 0`,
 * a `market_cap: 0` without circulating supply) unless `zeroIsKnown`; negative is unknown too.
 */
export function readAmount(value: unknown, options: { zeroIsKnown?: boolean } = {}): number | null {
  const n = readNumber(value)
  if (n === null || n === undefined || n < 0) return null
  return n === 0 && !options.zeroIsKnown ? null : n
}

/** A signed figure such as a 24h change in percent. */
export function readSigned(value: unknown): number | null {
  return readNumber(value) ?? null
}

/** A rank or other positive integer; 0 (CoinPaprika's inactive coins) is unknown. */
export function readCount(value: unknown): number | null {
  const n = readNumber(value)
  return n === null || n === undefined || n <= 0 || !Number.isInteger(n) ? null : n
}
