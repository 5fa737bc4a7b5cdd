/**
 * The Redis keys queue mode writes beside BullMQ's own (`<prefix>:etl:<bullmq key>`): each worker's
 * heartbeat, the sources it runs, the per-source leases and the count of stalled jobs.
 */
export function queueKeys(prefix: string) {
  const base = `${prefix}:etl`
  return {
    /** Sorted set: worker id (`host:pid`) scored by its last heartbeat, in ms. */
    workers: `${base}:workers`,
    /** Set: the sources worker `id` is running now. */
    workerRunning: (id: string) => `${base}:worker:${id}:running`,
    /** The lease on one source: held by the worker running it. */
    lease: (source: string) => `${base}:lease:${source}`,
    /** Counter of jobs found stalled. */
    stalledTotal: `${base}:stats:stalled`,
  }
}
