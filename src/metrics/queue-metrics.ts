import { Gauge, type Registry } from 'prom-client'
import type { QueueView } from '../pipeline/run-starter.js'
import { withTimeout } from '../with-timeout.js'

/** A scrape waits at most this long for Redis; after that it shows the queue as down. */
const SCRAPE_TIMEOUT_MS = 1000
const WORKER_WINDOW_MS = 60_000
const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'paused'] as const

interface QueueFigures {
  readonly counts: Record<string, number>
  readonly stalled: number
  readonly workers: number
}

/**
 * Queue mode's instruments, read from Redis at each scrape (so every API replica reports the same
 * cluster-wide figures): jobs per state, stalled jobs, workers seen, and whether Redis answers.
 */
export function registerQueueMetrics(registry: Registry, queue: QueueView): void {
  // The gauges are collected side by side; they share one read of Redis per scrape.
  let reading: Promise<QueueFigures | undefined> | undefined
  const figures = () => {
    reading ??= withTimeout(
      Promise.all([queue.counts(), queue.stalledTotal(), queue.workers(WORKER_WINDOW_MS)]),
      SCRAPE_TIMEOUT_MS,
      'Redis did not answer',
    )
      .then(([counts, stalled, workers]) => ({ counts, stalled, workers: workers.length }))
      // Redis is away: the figures are unknown, not zero; /health names the outage.
      .catch(() => undefined)
      .finally(() => setTimeout(() => (reading = undefined), 100).unref())
    return reading
  }
  const registers = [registry]
  new Gauge({
    name: 'coinpipe_queue_up',
    help: '1 when the job queue (Redis) answered the last scrape, 0 when it did not.',
    registers,
    async collect() {
      this.set((await figures()) ? 1 : 0)
    },
  })
  new Gauge({
    name: 'coinpipe_queue_jobs',
    help: 'ETL jobs in the queue by state (waiting, prioritized, delayed, active, completed, failed, paused), cluster-wide.',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      const read = await figures()
      this.reset()
      if (read) for (const state of JOB_STATES) this.set({ state }, read.counts[state] ?? 0)
    },
  })
  new Gauge({
    name: 'coinpipe_queue_stalled_jobs_total',
    help: 'ETL jobs found stalled (their worker died or froze) and handed to another worker, cluster-wide, since the queue was created.',
    registers,
    async collect() {
      const read = await figures()
      this.reset()
      if (read) this.set(read.stalled)
    },
  })
  new Gauge({
    name: 'coinpipe_queue_workers',
    help: 'Workers whose heartbeat is at most a minute old.',
    registers,
    async collect() {
      const read = await figures()
      this.reset()
      if (read) this.set(read.workers)
    },
  })
}
