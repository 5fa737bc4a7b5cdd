import { readFileSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { aRecord } from './api-fixture.js'

/** The record fields that hold text; every other one is a number or null. */
const TEXT_FIELDS = new Set(['asset_id', 'symbol', 'source', 'observed_at', 'loaded_at'])

/** A records CSV (an answer's text or an export's) read back as the JSON answer's items: '' is null, numbers are numbers. */
export function recordsFromCsv(text: string): { header: string[]; items: Record<string, unknown>[] } {
  const [header = [], ...body] = parse(text, { bom: true })
  const items = body.map((fields) =>
    Object.fromEntries(
      header.map((name, i) => {
        const value = fields[i] ?? ''
        return [name, value === '' ? null : TEXT_FIELDS.has(name) ? value : Number(value)]
      }),
    ),
  )
  return { header, items }
}

export function recordsFromCsvFile(path: string) {
  return recordsFromCsv(readFileSync(path, 'utf8'))
}

/**
 * A records Parquet export read back as the JSON answer's items (times as ISO strings, 64-bit
 * integers as numbers), with its column names, Parquet types and row-group sizes.
 */
export async function recordsFromParquetFile(path: string): Promise<{
  header: string[]
  types: Record<string, string | undefined>
  rowGroups: number[]
  items: Record<string, unknown>[]
}> {
  const file = await asyncBufferFromFile(path)
  const metadata = await parquetMetadataAsync(file)
  const columns = metadata.schema.slice(1)
  const rows = await parquetReadObjects({ file, metadata })
  const items = rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([name, value]) => [
        name,
        value instanceof Date ? value.toISOString() : typeof value === 'bigint' ? Number(value) : value,
      ]),
    ),
  )
  return {
    header: columns.map((c) => c.name),
    types: Object.fromEntries(
      columns.map((c) => [c.name, c.logical_type?.type ?? c.converted_type ?? c.type]),
    ),
    rowGroups: metadata.row_groups.map((g) => Number(g.num_rows)),
    items,
  }
}

/** Records whose values are hard to print: long decimals, tiny and huge magnitudes, quotes and commas. */
export const AWKWARD_RECORDS = [
  aRecord({
    symbol: 'DEC',
    name: 'Decimals, "quoted"',
    observed_at: '2024-02-01T00:00:00.123Z',
    price_usd: 0.1 + 0.2,
    market_cap_usd: 1.2345678901234568e21,
    volume_24h_usd: 0,
    change_24h_pct: -3.141592653589793,
    rank: 7,
    circulating_supply: 19_999_999.123456787,
    total_supply: 5e-324,
    max_supply: 21_000_000,
  }),
  aRecord({
    symbol: 'T,"Q',
    name: 'Tiny, "quoted"',
    observed_at: '2024-02-02',
    price_usd: 1.2345678901e-8,
  }),
]
