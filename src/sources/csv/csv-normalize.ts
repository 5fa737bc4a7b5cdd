import { parseDecimal } from '../../domain/parse-decimal.js'
import { parseTimestamp } from '../../domain/parse-timestamp.js'
import type { RowRejection, SourceObservation, TransformResult } from '../source.js'
import type { CsvField, CsvHeaderMap } from './csv-header.js'
import type { CsvRow } from './csv-read.js'

type NumericField = Exclude<CsvField, 'observed_at' | 'symbol' | 'name' | 'price_usd'>

const OPTIONAL_NUMBERS: readonly [NumericField, keyof SourceObservation][] = [
  ['market_cap_usd', 'marketCapUsd'],
  ['volume_24h_usd', 'volume24hUsd'],
  ['change_24h_pct', 'change24hPct'],
  ['rank', 'rank'],
  ['circulating_supply', 'circulatingSupply'],
  ['total_supply', 'totalSupply'],
  ['max_supply', 'maxSupply'],
]
/** Values that cannot be negative; a 24h change can. */
const NON_NEGATIVE = new Set<NumericField>([
  'market_cap_usd',
  'volume_24h_usd',
  'rank',
  'circulating_supply',
  'total_supply',
  'max_supply',
])

/** Pure: CSV rows → observations, each bad row rejected with its line and reason. */
export function normalizeCsvRows(rows: readonly CsvRow[], header: CsvHeaderMap): TransformResult {
  const observations: SourceObservation[] = []
  const rejections: RowRejection[] = []
  for (const row of rows) {
    const result = normalizeCsvRow(row, header)
    if ('reasonCode' in result) rejections.push(result)
    else observations.push(result)
  }
  return { observations, rejections }
}

export function normalizeCsvRow(row: CsvRow, header: CsvHeaderMap): SourceObservation | RowRejection {
  const { fields, line, raw } = row
  const reject = (reasonCode: string, message: string): RowRejection => ({ line, reasonCode, message, raw })
  if (fields.length !== header.width) {
    return reject(
      'CSV_COLUMN_COUNT',
      `line ${line}: expected ${header.width} columns, found ${fields.length}`,
    )
  }
  const cell = (field: CsvField): string | undefined => {
    const index = header[field]
    return index === undefined ? undefined : fields[index]
  }

  const rawDate = cell('observed_at') ?? ''
  const observedAt = parseTimestamp(rawDate)
  if (observedAt === undefined)
    return reject(
      'CSV_DATE_INVALID',
      `line ${line}: date ${JSON.stringify(rawDate.trim())} is not a usable date`,
    )

  const symbol = normalizeSymbol(cell('symbol') ?? '')
  if (symbol === '') return reject('CSV_SYMBOL_MISSING', `line ${line}: symbol is empty`)

  const rawPrice = cell('price_usd') ?? ''
  const priceUsd = parseDecimal(rawPrice)
  if (priceUsd === null || priceUsd === undefined || priceUsd < 0) {
    const why = priceUsd === null ? 'is missing' : 'is not a non-negative number'
    return reject('CSV_PRICE_INVALID', `line ${line}: price ${JSON.stringify(rawPrice.trim())} ${why}`)
  }

  const values: Record<string, number | null> = {}
  for (const [field, key] of OPTIONAL_NUMBERS) {
    const text = cell(field)
    const value = text === undefined ? null : parseDecimal(text)
    if (value === undefined || (value !== null && value < 0 && NON_NEGATIVE.has(field))) {
      return reject(
        'CSV_VALUE_INVALID',
        `line ${line}: ${field} ${JSON.stringify(text?.trim())} is not a valid number`,
      )
    }
    values[key] = field === 'rank' && value !== null ? Math.round(value) : value
  }

  const name = normalizeName(cell('name') ?? '')
  return {
    asset: { sourceAssetId: name ? `${symbol}:${name.toLowerCase()}` : symbol, symbol, name },
    observedAt,
    priceUsd,
    marketCapUsd: values.marketCapUsd ?? null,
    volume24hUsd: values.volume24hUsd ?? null,
    change24hPct: values.change24hPct ?? null,
    rank: values.rank ?? null,
    circulatingSupply: values.circulatingSupply ?? null,
    totalSupply: values.totalSupply ?? null,
    maxSupply: values.maxSupply ?? null,
    line,
    raw,
  }
}

export function normalizeSymbol(raw: string): string {
  return raw.trim().toUpperCase()
}

function normalizeName(raw: string): string | null {
  const name = raw.trim().replace(/\s+/g, ' ')
  return name === '' ? null : name
}
