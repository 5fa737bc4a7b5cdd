/** The character between a number's whole and fractional parts: `.` (and `,` groups thousands) or `,`. */
export type DecimalMark = '.' | ','

/** A plain decimal as most rows carry it: `42150.25`, `-0.5`, `.5`, `1.5e-7`. */
const PLAIN_DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** The unsigned body left after trimming, the sign and a `$`: US thousands groups allowed. */
const DECORATED_BODY = /^(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/**
 * The same with a decimal comma, as European locales write numbers: `1.234,56`, `1 234,56` (a space,
 * no-break or narrow no-break space groups thousands), `0,5`, `,5`, `1,5e-7`.
 */
const COMMA_BODY =
  /^(?:(?:\d{1,3}(?:([. \u00a0\u202f])\d{3})(?:\1\d{3})*|\d+)(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?$/
const COMMA_GROUPS = /[. \u00a0\u202f]/g

const MISSING_MARKERS: ReadonlySet<string> = new Set(['n/a', 'na', 'null', 'none', '-', '—', 'nan'])
const LONGEST_MARKER = 4

/**
 * Reads a decimal as written in CSV exports and spreadsheets.
 * Returns a finite number, `null` when the cell says the value is missing (empty, `N/A`, `-`, `NaN`…),
 * or `undefined` when the cell holds something that is not a number, so the caller can reject the row.
 * Never throws.
 */
export function parseDecimal(
  input: string | number | null | undefined,
  decimalMark: DecimalMark = '.',
): number | null | undefined {
  if (typeof input === 'number') return Number.isFinite(input) ? input : undefined
  if (input === null || input === undefined) return null
  if (typeof input !== 'string') return undefined
  if (decimalMark === '.' && PLAIN_DECIMAL.test(input)) return finiteOrUndefined(Number(input))
  return parseDecorated(input.trim(), decimalMark)
}

function parseDecorated(text: string, decimalMark: DecimalMark): number | null | undefined {
  if (text === '') return null
  if (text.length <= LONGEST_MARKER && MISSING_MARKERS.has(text.toLowerCase())) return null

  let sign = ''
  let body = text
  if (body[0] === '+' || body[0] === '-') {
    sign = body[0]
    body = body.slice(1)
  }
  if (body[0] === '$') {
    body = body.slice(1)
    if (sign === '' && (body[0] === '+' || body[0] === '-')) {
      sign = body[0]
      body = body.slice(1)
    }
  }
  if (decimalMark === ',') {
    if (!COMMA_BODY.test(body)) return undefined
    return finiteOrUndefined(Number(sign + body.replace(COMMA_GROUPS, '').replace(',', '.')))
  }
  if (!DECORATED_BODY.test(body)) return undefined
  return finiteOrUndefined(Number(sign + body.replaceAll(',', '')))
}

function finiteOrUndefined(value: number): number | undefined {
  return Number.isFinite(value) ? value : undefined
}
