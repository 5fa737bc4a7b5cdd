import { parseDecimal, type DecimalMark } from '../../domain/parse-decimal.js'
import { parseTimestamp } from '../../domain/parse-timestamp.js'
import type { RowRejection, SourceAssetRef, SourceObservation, TransformResult } from '../source.js'
import type { CsvField, CsvHeaderMap } from './csv-header.js'
import type { CsvRow } from './csv-read.js'

/** Optional numeric columns, in the order `normalizeCsvRow` reads them; only a 24h change may be negative. */
const OPTIONAL_NUMBERS: readonly CsvField[] = [
  'market_cap_usd',
  'volume_24h_usd',
  'change_24h_pct',
  'rank',
  'circulating_supply',
  'total_supply',
  'max_supply',
]

/** Pure: CSV rows → observations, each bad row rejected with its line and reason. */
export function normalizeCsvRows(
  rows: readonly CsvRow[],
  header: CsvHeaderMap,
  decimalMark: DecimalMark = '.',
): TransformResult {
  const observations: SourceObservation[] = []
  const rejections: RowRejection[] = []
  const assets: AssetRefs = new Map()
  for (const row of rows) {
    const result = normalizeCsvRow(row, header, assets, decimalMark)
    if ('reasonCode' in result) rejections.push(result)
    else observations.push(result)
  }
  return { observations, rejections }
}

/** Asset refs already built in this batch, so a symbol repeated on every row is one object. */
type AssetRefs = Map<string, SourceAssetRef>

// A hot loop over every row of every file: no closures or dictionaries per row.
export function normalizeCsvRow(
  row: CsvRow,
  header: CsvHeaderMap,
  assets: AssetRefs = new Map(),
  decimalMark: DecimalMark = '.',
): SourceObservation | RowRejection {
  const { fields, line } = row
  if (row.malformed !== undefined) return reject(row, 'CSV_ROW_MALFORMED', row.malformed)
  if (fields.length !== header.width) {
    return reject(row, 'CSV_COLUMN_COUNT', `expected ${header.width} columns, found ${fields.length}`)
  }

  const rawDate = fields[header.observed_at] ?? ''
  const observedAt = parseTimestamp(rawDate)
  if (observedAt === undefined) {
    return reject(row, 'CSV_DATE_INVALID', `date ${JSON.stringify(rawDate.trim())} is not a usable date`)
  }

  const rawSymbol = fields[header.symbol] ?? ''
  const rawName = header.name === undefined ? '' : (fields[header.name] ?? '')
  const asset = assetRef(rawSymbol, rawName, assets)
  if (asset === undefined) return reject(row, 'CSV_SYMBOL_MISSING', 'symbol is empty')

  const rawPrice = fields[header.price_usd] ?? ''
  const priceUsd = parseDecimal(rawPrice, decimalMark)
  if (priceUsd === null || priceUsd === undefined || priceUsd < 0) {
    const why = priceUsd === null ? 'is missing' : 'is not a non-negative number'
    return reject(row, 'CSV_PRICE_INVALID', `price ${JSON.stringify(rawPrice.trim())} ${why}`)
  }

  const marketCapUsd = optionalNumber(fields, header.market_cap_usd, false, decimalMark)
  const volume24hUsd = optionalNumber(fields, header.volume_24h_usd, false, decimalMark)
  const change24hPct = optionalNumber(fields, header.change_24h_pct, true, decimalMark)
  const rank = optionalNumber(fields, header.rank, false, decimalMark)
  const circulatingSupply = optionalNumber(fields, header.circulating_supply, false, decimalMark)
  const totalSupply = optionalNumber(fields, header.total_supply, false, decimalMark)
  const maxSupply = optionalNumber(fields, header.max_supply, false, decimalMark)
  const values = [marketCapUsd, volume24hUsd, change24hPct, rank, circulatingSupply, totalSupply, maxSupply]
  const bad = values.indexOf(undefined)
  if (bad !== -1) {
    const field = OPTIONAL_NUMBERS[bad]!
    const text = fields[header[field]!] ?? ''
    return reject(row, 'CSV_VALUE_INVALID', `${field} ${JSON.stringify(text.trim())} is not a valid number`)
  }

  return {
    asset,
    observedAt,
    priceUsd,
    marketCapUsd: marketCapUsd ?? null,
    volume24hUsd: volume24hUsd ?? null,
    change24hPct: change24hPct ?? null,
    rank: rank == null ? null : Math.round(rank),
    circulatingSupply: circulatingSupply ?? null,
    totalSupply: totalSupply ?? null,
    maxSupply: maxSupply ?? null,
    line,
    raw: row.raw,
  }
}

function reject(row: CsvRow, reasonCode: string, why: string): RowRejection {
  return { line: row.line, reasonCode, message: `line ${row.line}: ${why}`, raw: row.raw }
}

/** null when the column is absent or says "unknown"; undefined when it holds something unusable. */
function optionalNumber(
  fields: readonly string[],
  index: number | undefined,
  signed: boolean,
  decimalMark: DecimalMark,
): number | null | undefined {
  if (index === undefined) return null
  const value = parseDecimal(fields[index], decimalMark)
  return value !== null && value !== undefined && value < 0 && !signed ? undefined : value
}

function assetRef(rawSymbol: string, rawName: string, assets: AssetRefs): SourceAssetRef | undefined {
  const cacheKey = `${rawSymbol}\u0000${rawName}`
  const known = assets.get(cacheKey)
  if (known) return known
  const symbol = normalizeSymbol(rawSymbol)
  if (symbol === '') return undefined
  const name = normalizeName(rawName)
  const ref = { sourceAssetId: name ? `${symbol}:${name.toLowerCase()}` : symbol, symbol, name }
  assets.set(cacheKey, ref)
  return ref
}

export function normalizeSymbol(raw: string): string {
  return raw.trim().toUpperCase()
}

function normalizeName(raw: string): string | null {
  const name = raw.trim().replace(/\s+/g, ' ')
  return name === '' ? null : name
}
