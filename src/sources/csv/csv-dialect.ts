import { parse } from 'csv-parse/sync'
import type { DecimalMark } from '../../domain/parse-decimal.js'
import { csvParseOptions } from './csv-records.js'
import { mapCsvHeader, type CsvField, type CsvHeaderMap } from './csv-header.js'

/** How a file is written: its field delimiter and the decimal mark of its numbers. */
export interface CsvDialect {
  readonly delimiter: string
  readonly decimalMark: DecimalMark
}

/** What configuration pins; an absent field is detected from the file. */
export type CsvDialectSetting = Partial<CsvDialect>

/** The dialect of cursors and batches stored before dialects were recorded. */
export const DEFAULT_DIALECT: CsvDialect = { delimiter: ',', decimalMark: '.' }

/** Delimiters tried on the header line, in order of preference when several fit. */
const CANDIDATE_DELIMITERS = [',', ';', '\t', '|'] as const

const NUMERIC_FIELDS: readonly CsvField[] = [
  'price_usd',
  'market_cap_usd',
  'volume_24h_usd',
  'change_24h_pct',
  'circulating_supply',
  'total_supply',
  'max_supply',
]

// Shapes only one decimal mark can produce. `1,234` and `1.234` are left out: a thousands group
// or a decimal with three places, the file's other numbers decide.
const DOT_DECIMAL = [
  /^\d*\.(?:\d{1,2}|\d{4,})$/,
  /^\d{1,3}(?:,\d{3})+\.\d+$/,
  /^\d{1,3}(?:,\d{3}){2,}$/,
  /^0\.\d+$/,
]
const COMMA_DECIMAL = [
  /^\d*,(?:\d{1,2}|\d{4,})$/,
  /^\d{1,3}(?:\.\d{3})+,\d+$/,
  /^\d{1,3}(?:\.\d{3}){2,}$/,
  /^0,\d+$/,
]

/**
 * Reads the dialect from the start of a file: the delimiter is the candidate under which the header
 * line names the most known columns (`,` `;` tab `|`); the decimal mark is the one the numbers in
 * the sampled rows can only have been written with, else `,` for a `;` file (a spreadsheet in a
 * European locale) and `.` otherwise. Settings given in `pinned` are kept as they are.
 */
export function detectCsvDialect(
  head: Buffer,
  pinned: CsvDialectSetting = {},
  /** Whether `head` is the whole file, so its last line is complete even without a line break. */
  wholeFile = false,
): CsvDialect {
  const text = head.toString('utf8').replace(/^\uFEFF/, '')
  const firstBreak = text.indexOf('\n')
  const headerLine = firstBreak === -1 ? text : text.slice(0, firstBreak)
  const delimiter = pinned.delimiter ?? detectDelimiter(headerLine)
  // Only whole lines: a sample may end mid-row.
  const sample = wholeFile ? text : text.slice(0, text.lastIndexOf('\n') + 1)
  const decimalMark = pinned.decimalMark ?? detectDecimalMark(sample, delimiter)
  return { delimiter, decimalMark }
}

function detectDelimiter(headerLine: string): string {
  let best: { delimiter: string; known: number; columns: number } = {
    delimiter: DEFAULT_DIALECT.delimiter,
    known: 0,
    columns: 0,
  }
  for (const delimiter of CANDIDATE_DELIMITERS) {
    const columns = parseRows(headerLine, delimiter)[0] ?? []
    const known = knownColumns(columns)
    if (known > best.known || (known === best.known && known > 0 && columns.length > best.columns))
      best = { delimiter, known, columns: columns.length }
  }
  return best.delimiter
}

function detectDecimalMark(sample: string, delimiter: string): DecimalMark {
  const fallback: DecimalMark = delimiter === ';' ? ',' : '.'
  const [header, ...rows] = parseRows(sample, delimiter)
  const map = headerMap(header ?? [])
  if (map === undefined) return fallback
  const columns = NUMERIC_FIELDS.flatMap((field) => (map[field] === undefined ? [] : [map[field]]))
  let dot = 0
  let comma = 0
  for (const row of rows) {
    for (const column of columns) {
      const value = (row[column] ?? '').replace(/^[+-]?\$?/, '')
      if (DOT_DECIMAL.some((shape) => shape.test(value))) dot++
      else if (COMMA_DECIMAL.some((shape) => shape.test(value))) comma++
    }
  }
  return dot === comma ? fallback : dot > comma ? '.' : ','
}

function parseRows(text: string, delimiter: string): string[][] {
  try {
    const rows: unknown = parse(text, csvParseOptions(delimiter, { bom: true }))
    return rows as string[][]
  } catch {
    return []
  }
}

function headerMap(columns: readonly string[]): CsvHeaderMap | undefined {
  try {
    return mapCsvHeader(columns)
  } catch {
    return undefined
  }
}

/** How many known fields a header line names; 0 when a required one is missing. */
function knownColumns(columns: readonly string[]): number {
  const map = headerMap(columns)
  return map === undefined ? 0 : Object.keys(map).length - 1
}
