import { fileWriter, parquetWriteRows, type SchemaElement } from 'hyparquet-writer'
import type { RecordColumnsRow } from '../db/repositories/record-repository.js'
import { RECORD_EXPORT_FIELDS } from './record-chunks.js'

/** Rows per Parquet row group: large enough for readers to skip well, small enough to hold in memory. */
export const PARQUET_ROW_GROUP_ROWS = 100_000

type ParquetType = 'INT32' | 'INT64' | 'DOUBLE' | 'STRING' | 'TIMESTAMP'

/**
 * Each record field's Parquet type. Market values are DOUBLE: they are stored as float8/REAL, so a
 * double is the value itself, not a rounding of it. Times are INT64 TIMESTAMP(MILLIS, UTC), the
 * precision we store.
 */
const FIELD_TYPES: Readonly<Record<(typeof RECORD_EXPORT_FIELDS)[number], ParquetType>> = {
  id: 'INT64',
  asset_id: 'STRING',
  symbol: 'STRING',
  source: 'STRING',
  observed_at: 'TIMESTAMP',
  price_usd: 'DOUBLE',
  market_cap_usd: 'DOUBLE',
  volume_24h_usd: 'DOUBLE',
  change_24h_pct: 'DOUBLE',
  rank: 'INT32',
  circulating_supply: 'DOUBLE',
  total_supply: 'DOUBLE',
  max_supply: 'DOUBLE',
  run_id: 'INT64',
  raw_batch_id: 'INT64',
  loaded_at: 'TIMESTAMP',
}

const REQUIRED = new Set(['id', 'asset_id', 'symbol', 'source', 'observed_at', 'loaded_at'])

function schemaElement(name: string, type: ParquetType): SchemaElement {
  const repetition_type = REQUIRED.has(name) ? 'REQUIRED' : 'OPTIONAL'
  switch (type) {
    case 'STRING':
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type }
    case 'TIMESTAMP':
      return {
        name,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
        repetition_type,
      }
    case 'INT32':
    case 'INT64':
    case 'DOUBLE':
      return { name, type, repetition_type }
  }
}

const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: RECORD_EXPORT_FIELDS.length },
  ...RECORD_EXPORT_FIELDS.map((name) => schemaElement(name, FIELD_TYPES[name])),
]

type ParquetRow = Record<string, string | number | bigint | null>

/** A record as the Parquet columns take it: times as epoch milliseconds, 64-bit ids as bigints. */
function toParquetRow(r: RecordColumnsRow): ParquetRow {
  return {
    ...r,
    id: BigInt(r.id),
    observed_at: Date.parse(r.observed_at),
    loaded_at: Date.parse(r.loaded_at),
    run_id: r.run_id === null ? null : BigInt(r.run_id),
    raw_batch_id: r.raw_batch_id === null ? null : BigInt(r.raw_batch_id),
  }
}

/**
 * Writes `chunks` to a Parquet file at `path` (snappy-compressed, one row group per
 * PARQUET_ROW_GROUP_ROWS rows); rows are pulled only as a row group fills, so memory holds about
 * one row group whatever the total.
 */
export async function writeRecordParquet(
  path: string,
  chunks: AsyncIterable<readonly RecordColumnsRow[]>,
): Promise<void> {
  async function* parquetRows(): AsyncGenerator<ParquetRow> {
    for await (const chunk of chunks) for (const r of chunk) yield toParquetRow(r)
  }
  await parquetWriteRows({
    writer: fileWriter(path),
    schema: SCHEMA,
    columns: RECORD_EXPORT_FIELDS.map((name) => ({ name })),
    rows: parquetRows(),
    rowGroupSize: PARQUET_ROW_GROUP_ROWS,
    createdBy: 'coinpipe export',
  })
}
