/**
 * How each upstream writes numbers. CoinGecko's backend is Ruby: supplies are always floats
 * (`20030493.0`) and numbers below 1e-4 or from 1e16 take exponent form (`1.98e-06`, `4.2e+17`).
 * CoinPaprika's is Go, whose encoding/json writes numbers as JavaScript does.
 */
const FLOAT_FIELDS = new Set(['circulating_supply', 'total_supply', 'max_supply'])
const RAW = '#raw#'

/** A CoinGecko body: Ruby-style numbers (see above). */
export function coingeckoJson(value: unknown): string {
  const json = JSON.stringify(value, (key, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return v
    const abs = Math.abs(v)
    if (v !== 0 && (abs < 1e-4 || abs >= 1e16)) return RAW + rubyExponent(v)
    if (FLOAT_FIELDS.has(key) && Number.isInteger(v)) return `${RAW}${v}.0`
    return v
  })
  return json.replace(/"#raw#([^"]+)"/g, '$1')
}

/** A CoinPaprika body. */
export function coinpaprikaJson(value: unknown): string {
  return JSON.stringify(value)
}

function rubyExponent(v: number): string {
  const [mantissa = '0', exponent = '0'] = v.toExponential().split('e')
  const e = Number(exponent)
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`
}

/** Whole prices from 10 000 up, as in CoinGecko's example (`77671`); six significant digits below. */
export function cgPrice(price: number): number {
  return price >= 10_000 ? Math.round(price) : significant(price, 6)
}

export function significant(v: number, digits: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(digits))
}

/** The change from `then` to `now` in percent, rounded to `decimals`; 0 when `then` is 0. */
export function percent(now: number, then: number, decimals: number): number {
  if (then === 0) return 0
  const factor = 10 ** decimals
  return Math.round((now / then - 1) * 100 * factor) / factor
}
