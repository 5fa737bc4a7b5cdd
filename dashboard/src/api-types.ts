/** The API's JSON shapes the dashboard reads, as `/docs` describes them (snake_case on the wire). */

export interface PageInfo {
  limit: number
  next_cursor: string | null
  total?: number
}

export interface Paged<T> {
  data: T[]
  page: PageInfo
}

export type HealthStatus = 'ok' | 'degraded' | 'down'

export interface Health {
  status: HealthStatus
  database: { kind: string; reachable: boolean; latency_ms: number | null; error?: string }
  sources: {
    source: string
    enabled: boolean
    last_run: {
      id: number
      status: string
      started_at: string
      finished_at: string | null
      error_code: string | null
    } | null
  }[]
  queue?: {
    status: 'ok' | 'down'
    latency_ms: number | null
    error?: string
    workers: { id: string; last_seen_at: string; running: string[] }[]
  }
  checked_at: string
}

export interface SourceStats {
  source: string
  enabled: boolean
  runs: { succeeded: number; partial: number; failed: number; running: number; skipped: number }
  loaded: number
  unchanged: number
  rejected: number
  last_success_at: string | null
  last_failure_at: string | null
  last_failure_error_code: string | null
  last_duration_ms: number | null
  mean_duration_ms: number | null
  /** Records newly stored by the runs that started in the last 24 hours. */
  loaded_24h: number
  newest_observed_at: string | null
}

export interface Stats {
  /** ASSET_STALE_AFTER_MS. */
  stale_after_ms: number
  sources: SourceStats[]
  totals: { runs: number; records: number; rejected: number; assets: number }
}

export interface Alias {
  source: string
  source_asset_id: string
  method: string
  confidence: number
}

export interface AssetItem {
  id: string
  symbol: string
  name: string
  created_at: string
  aliases: Alias[]
}

/** An item of `GET /api/v1/assets?order=spread_desc`. */
export interface DivergentAsset extends AssetItem {
  consensus_price_usd: number | null
  spread_pct: number | null
  stale_sources: string[]
  latest: { source: string; observed_at: string; price_usd: number | null; stale: boolean }[]
}

export interface LatestValue {
  source: string
  observed_at: string
  age_seconds: number
  price_usd: number | null
  market_cap_usd: number | null
  volume_24h_usd: number | null
  change_24h_pct: number | null
  rank: number | null
  stale: boolean
}

export interface AssetDetail extends AssetItem {
  latest: LatestValue[]
  consensus_price_usd: number | null
  spread_pct: number | null
  stale_sources: string[]
}

export interface Conflict {
  source: string
  source_asset_id: string
  symbol: string
  name: string | null
  asset_id: string
  reason: string
  detail: string
  candidates: {
    asset_id: string
    source: string
    source_asset_id: string
    symbol: string
    name: string | null
    why: string
  }[]
  detected_at: string
}

export interface PriceRecord {
  id: number
  asset_id: string
  source: string
  observed_at: string
  price_usd: number | null
}

export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'skipped' | 'queued'

export interface Run {
  id: number | null
  job_id?: string
  source: string
  trigger: string
  status: RunStatus
  queued_at?: string
  waiting_for?: string | null
  started_at: string | null
  finished_at: string | null
  duration_ms: number | null
  batch_count: number
  extracted: number
  loaded: number
  unchanged: number
  rejected: number
  error_code: string | null
  error_message: string | null
  /** Who asked for it: `key:<hash prefix>`, `jwt:<sub>` or `cli`; null for the schedule. */
  started_by: string | null
}

export interface SchemaChange {
  id: number
  source: string
  stream: string
  field: string
  change: string
  detail: { message: string; expected?: string; actual?: string; renamed_to?: string; confidence?: number }
  run_id: number | null
  raw_batch_id: number | null
  detected_at: string
}

export interface RunDetail extends Run {
  id: number
  heartbeat_at: string
  batches: {
    id: number
    stream: string
    status: string
    row_count: number
    error_code: string | null
    error_message: string | null
    created_at: string
    loaded_at: string | null
  }[]
  rejections_by_reason: { reason_code: string; count: number }[]
  schema_changes: SchemaChange[]
}

export interface ComparedRun extends Run {
  records: number
  rejection_rate_pct: number
}

export interface Comparison {
  source: string
  base: ComparedRun
  head: ComparedRun
  delta: {
    records: number
    records_pct: number | null
    duration_ms: number | null
    duration_pct: number | null
    rejected: number
    rejection_rate_pts: number
    extracted: number
  }
  anomalies: { code: string; message: string }[]
  thresholds: { record_swing_pct: number; duration_swing_pct: number; rejection_jump_pts: number }
}

export interface Rejection {
  id: number
  run_id: number | null
  raw_batch_id: number | null
  source: string
  line: number | null
  reason_code: string
  message: string
  raw: string | null
  created_at: string
}
