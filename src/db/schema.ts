import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'
import type { RunStatus, RunTrigger } from '../domain/run.js'
import type { SchemaChangeKind } from '../domain/schema-change.js'

/**
 * The one source of table types. Tables are snake_case in SQL; Kysely's CamelCasePlugin maps
 * them to the camelCase seen here. Times are ISO 8601 UTC strings on every dialect.
 */
export interface Database {
  assets: AssetTable
  assetAliases: AssetAliasTable
  records: RecordTable
  rawBatches: RawBatchTable
  etlRuns: EtlRunTable
  checkpoints: CheckpointTable
  rejections: RejectionTable
  schemaChanges: SchemaChangeTable
  sourceAssets: SourceAssetTable
  assetContracts: AssetContractTable
  identityFetches: IdentityFetchTable
  assetConflicts: AssetConflictTable
  assetRemaps: AssetRemapTable
  identityState: IdentityStateTable
  candleHours: CandleHourTable
  candleConsensus: CandleConsensusTable
  candleStale: CandleStaleTable
  candlePending: CandlePendingTable
}

type Id = Generated<number>
type CreatedAt = ColumnType<string, string, never>

export interface AssetTable {
  id: string
  symbol: string
  name: string
  createdAt: CreatedAt
}

export type AliasMethod = 'override' | 'contract' | 'id' | 'symbol_name' | 'symbol_price' | 'new'

export interface AssetAliasTable {
  source: string
  sourceAssetId: string
  assetId: string
  method: AliasMethod
  confidence: number
  createdAt: CreatedAt
}

export interface RecordTable {
  id: Id
  assetId: string
  source: string
  /** The source's own id for the asset (null for a manual record posted with an explicit asset_id). */
  sourceAssetId: string | null
  observedAt: string
  priceUsd: number | null
  marketCapUsd: number | null
  volume24hUsd: number | null
  change24hPct: number | null
  rank: number | null
  circulatingSupply: number | null
  totalSupply: number | null
  maxSupply: number | null
  runId: number | null
  rawBatchId: number | null
  loadedAt: string
}
export type RecordRow = Selectable<RecordTable>

export type RawBatchStatus = 'pending' | 'loaded' | 'failed'

export interface RawBatchTable {
  id: Id
  runId: number | null
  source: string
  stream: string
  status: RawBatchStatus
  /** The payload exactly as received (a page of JSON, a chunk of CSV text). */
  payload: string
  payloadSha256: string
  /** JSON: what the transform needs besides the payload (CSV header, first line, file). */
  meta: string
  /** JSON cursors: the stream checkpoint before and after this batch. */
  cursorBefore: string | null
  cursorAfter: string | null
  rowCount: number
  errorCode: string | null
  errorMessage: string | null
  createdAt: CreatedAt
  loadedAt: string | null
  /** Who posted it (`POST /api/v1/records`: `key:…` or `jwt:…`); null for batches a run fetched. */
  addedBy: ColumnType<string | null, string | null | undefined, never>
}
export type RawBatchRow = Selectable<RawBatchTable>

export interface EtlRunTable {
  id: Id
  source: string
  trigger: RunTrigger
  status: RunStatus
  /** `host:pid` of the process running it, to tell a live run from an orphan. */
  owner: string
  startedAt: string
  heartbeatAt: string
  finishedAt: string | null
  durationMs: number | null
  batches: ColumnType<number, number | undefined, number>
  extracted: ColumnType<number, number | undefined, number>
  loaded: ColumnType<number, number | undefined, number>
  unchanged: ColumnType<number, number | undefined, number>
  rejected: ColumnType<number, number | undefined, number>
  errorCode: string | null
  errorMessage: string | null
  /** JSON object stream → cursor. */
  checkpointBefore: string | null
  checkpointAfter: string | null
  /** Who asked for it: `key:<hash prefix>`, `jwt:<sub>`, `cli`; null when the schedule started it. */
  startedBy: ColumnType<string | null, string | null | undefined, never>
}
export type EtlRunRow = Selectable<EtlRunTable>

export interface CheckpointTable {
  source: string
  stream: string
  /** JSON, owned by the stream that wrote it. */
  cursor: string
  runId: number | null
  updatedAt: string
}

export interface RejectionTable {
  id: Id
  runId: number | null
  rawBatchId: number | null
  source: string
  line: number | null
  reasonCode: string
  message: string
  raw: string | null
  createdAt: CreatedAt
}
export type RejectionRow = Selectable<RejectionTable>
export type NewRejection = Insertable<RejectionTable>

export interface SchemaChangeTable {
  id: Id
  source: string
  stream: string
  /** Dotted path in one item of the payload, e.g. `quotes.USD.price`. */
  field: string
  change: SchemaChangeKind
  /** JSON `SchemaChangeDetail` (see domain/schema-change.ts). */
  detail: string
  runId: number | null
  rawBatchId: number | null
  detectedAt: string
}
export type SchemaChangeRow = Selectable<SchemaChangeTable>
export type NewSchemaChange = Insertable<SchemaChangeTable>

/** Each source's asset as last seen: what the identity resolver weighs. */
export interface SourceAssetTable {
  source: string
  sourceAssetId: string
  symbol: string
  name: string | null
  rank: number | null
  marketCapUsd: number | null
  priceUsd: number | null
  observedAt: string | null
  /** 1 or 0. */
  active: number
  firstSeenAt: string
  updatedAt: string
}
export type SourceAssetRow = Selectable<SourceAssetTable>

export interface AssetContractTable {
  source: string
  sourceAssetId: string
  /** CoinGecko's asset-platform id (`ethereum`, `tron`, …). */
  platform: string
  /** EVM addresses lower-case; others as the source gave them. */
  address: string
  fetchedAt: string
}

export interface IdentityFetchTable {
  /** `coingecko:coins-list`, `coinpaprika:coin:<id>`. */
  key: string
  fetchedAt: string
  outcome: string
}

export interface AssetConflictTable {
  id: Id
  source: string
  sourceAssetId: string
  symbol: string
  name: string | null
  assetId: string
  reason: string
  detail: string
  /** JSON array of `ConflictCandidate` (identity/resolve-identities.ts). */
  candidates: string
  detectedAt: string
}
export type AssetConflictRow = Selectable<AssetConflictTable>

export interface AssetRemapTable {
  id: Id
  /** Groups the moves of one application of the resolver. */
  remapId: string
  /** `cli`, `api` or `run:<id>`. */
  trigger: string
  source: string
  sourceAssetId: string
  fromAssetId: string | null
  toAssetId: string
  method: AliasMethod
  confidence: number
  recordsMoved: number
  createdAt: string
  /** Who asked for the remap (`key:…`, `jwt:…`, `cli`); null when a run's new evidence caused it. */
  requestedBy: ColumnType<string | null, string | null | undefined, never>
}
export type AssetRemapRow = Selectable<AssetRemapTable>

export interface IdentityStateTable {
  id: number
  generation: number
}

/** One hour of one asset's price from one source: the hourly rollup candles of 1h, 1d and 1w read. */
export interface CandleHourTable {
  assetId: string
  source: string
  /** The hour's start, Unix seconds. */
  hourS: number
  open: number
  high: number
  low: number
  close: number
  /** The hour's last observation's. */
  marketCap: number | null
  volume: number | null
  points: number
}

/** One hour of one asset's price across its sources, as the API prints the consensus candle. */
export interface CandleConsensusTable {
  assetId: string
  hourS: number
  /** The JSON of the API's candle item. */
  item: string
}

/** Hours `[fromS, toS)` of an asset and source whose rollup may lag the records. */
export interface CandleStaleTable {
  assetId: string
  source: string
  fromS: number
  toS: number
}

/** Hours `[fromS, toS)` of one source that a write touched, for the assets listed; folded into `candle_stale`. */
export interface CandlePendingTable {
  id: Id
  source: string
  fromS: number
  toS: number
  /** A JSON array of asset ids. */
  assetIds: string
}
