import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Db } from '../db/database.js'
import { listLatestRunPerSource } from '../db/repositories/run-repository.js'
import type { EtlRunRow } from '../db/schema.js'
import { queryKind } from './query-kind.js'

/** An upstream attempt's outcome: the HTTP status, or `timeout` / `error` when no answer came. */
export type UpstreamStatus = number | 'timeout' | 'error'

/**
 * One process's Prometheus instruments on its own registry (never prom-client's global one), so
 * several apps in one process never collide. Label values are bounded by construction: route
 * patterns, status codes, source names and fixed outcome words, never a raw URL or SQL text.
 */
export interface Metrics {
  readonly registry: Registry
  /** `route` is the matched route pattern; undefined (no route matched) is recorded as `unmatched`. */
  observeHttpRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void
  /** A run that has finished (any trigger). */
  observeRun(run: Pick<EtlRunRow, 'source' | 'status' | 'durationMs'>): void
  /** One committed batch's (or replay's) record outcomes. */
  countRecords(source: string, counts: { loaded: number; unchanged: number; rejected: number }): void
  /** One HTTP attempt to an upstream, retries included. */
  observeUpstreamCall(source: string, status: UpstreamStatus, seconds: number): void
  /** `reason`: the retried error's code without `SOURCE_` (rate_limited, unavailable, timeout, bad_response). */
  countUpstreamRetry(source: string, reason: string): void
  /** Time one attempt waited for the outbound rate limiter (0 when it did not wait). */
  observeRateLimitWait(source: string, seconds: number): void
  /** Stops observing the database. */
  close(): void
}

export interface MetricsOptions {
  /** Observed for query timings, pool occupancy and, at each scrape, the last successful run per source. */
  readonly db?: Db
  /** Node.js process metrics (CPU, memory, event loop lag, GC); default true. */
  readonly processMetrics?: boolean
}

const PREFIX = 'coinpipe_'

/**
 * CPU, memory, event loop and GC are facts of the process, and each collector holds a monitor
 * that cannot be stopped: collected once per process, and shown by every registry that asks.
 */
let processRegistry: Registry | undefined

/** Creates the instruments on a fresh registry. Cheap to record into: a label lookup and an add. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const own = new Registry()
  const registers = [own]

  const httpDuration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'HTTP requests served, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  })
  const runDuration = new Histogram({
    name: `${PREFIX}etl_run_duration_seconds`,
    help: 'Finished ETL runs by source and final status (succeeded, partial, failed).',
    labelNames: ['source', 'status'] as const,
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers,
  })
  const runs = new Counter({
    name: `${PREFIX}etl_runs_total`,
    help: 'Finished ETL runs by source and final status.',
    labelNames: ['source', 'status'] as const,
    registers,
  })
  const records = new Counter({
    name: `${PREFIX}etl_records_total`,
    help: 'Rows of committed batches by source and outcome: loaded (new), unchanged (already stored), rejected.',
    labelNames: ['source', 'outcome'] as const,
    registers,
  })
  const upstreamDuration = new Histogram({
    name: `${PREFIX}upstream_request_duration_seconds`,
    help: 'HTTP attempts to an upstream by source and status (HTTP code, timeout or error).',
    labelNames: ['source', 'status'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30],
    registers,
  })
  const upstreamRequests = new Counter({
    name: `${PREFIX}upstream_requests_total`,
    help: 'HTTP attempts to an upstream by source and status (HTTP code, timeout or error).',
    labelNames: ['source', 'status'] as const,
    registers,
  })
  const upstreamRetries = new Counter({
    name: `${PREFIX}upstream_retries_total`,
    help: 'Upstream attempts retried, by source and reason (rate_limited, unavailable, timeout, bad_response).',
    labelNames: ['source', 'reason'] as const,
    registers,
  })
  const rateLimitWait = new Histogram({
    name: `${PREFIX}rate_limit_wait_seconds`,
    help: 'Time each upstream attempt waited for the outbound rate limiter, by source.',
    labelNames: ['source'] as const,
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  })

  let stopObserving = () => undefined as void
  const db = options.db
  if (db) {
    const queryDuration = new Histogram({
      name: `${PREFIX}db_query_duration_seconds`,
      help: 'Database statements by dialect and kind (select, insert, update, delete, other).',
      labelNames: ['dialect', 'kind'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    })
    stopObserving = db.observeQueries((event) =>
      queryDuration.observe({ dialect: db.kind, kind: queryKind(event.query) }, event.durationMs / 1000),
    )

    new Gauge({
      name: `${PREFIX}last_successful_run_timestamp_seconds`,
      help: 'When the latest succeeded run of each source finished (Unix seconds), read from the database at scrape.',
      labelNames: ['source'] as const,
      registers,
      async collect() {
        try {
          for (const run of await listLatestRunPerSource(db.kysely, ['succeeded']))
            this.set({ source: run.source }, Date.parse(run.finishedAt ?? run.startedAt) / 1000)
        } catch {
          // The database is unreachable: keep the last values; GET /health reports the outage.
        }
      },
    })

    const poolStats = db.poolStats?.bind(db)
    if (poolStats) {
      new Gauge({
        name: `${PREFIX}db_pool_connections`,
        help: 'Database pool connections by state: total open, idle, and waiting (queries queued for one).',
        labelNames: ['state'] as const,
        registers,
        collect() {
          const stats = poolStats()
          this.set({ state: 'total' }, stats.total)
          this.set({ state: 'idle' }, stats.idle)
          this.set({ state: 'waiting' }, stats.waiting)
        },
      })
    }
  }

  if (options.processMetrics !== false && processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry, prefix: PREFIX })
  }
  const registry =
    options.processMetrics === false || !processRegistry ? own : Registry.merge([processRegistry, own])
  return {
    registry,
    observeHttpRequest(method, route, statusCode, seconds) {
      httpDuration.observe({ method, route: route ?? 'unmatched', status_code: statusCode }, seconds)
    },
    observeRun(run) {
      runs.inc({ source: run.source, status: run.status })
      if (run.durationMs !== null)
        runDuration.observe({ source: run.source, status: run.status }, run.durationMs / 1000)
    },
    countRecords(source, counts) {
      if (counts.loaded > 0) records.inc({ source, outcome: 'loaded' }, counts.loaded)
      if (counts.unchanged > 0) records.inc({ source, outcome: 'unchanged' }, counts.unchanged)
      if (counts.rejected > 0) records.inc({ source, outcome: 'rejected' }, counts.rejected)
    },
    observeUpstreamCall(source, status, seconds) {
      upstreamDuration.observe({ source, status }, seconds)
      upstreamRequests.inc({ source, status })
    },
    countUpstreamRetry(source, reason) {
      upstreamRetries.inc({ source, reason })
    },
    observeRateLimitWait(source, seconds) {
      rateLimitWait.observe({ source }, seconds)
    },
    close() {
      stopObserving()
    },
  }
}
