import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Queue, QueueEvents, Worker, type Job } from 'bullmq'

/** Where one job's time went, from the producer's side and by BullMQ's own timestamps (whole ms). */
export interface JobTiming {
  /** From just before the add until the producer hears, through QueueEvents, that the job completed. */
  readonly totalMs: number
  /** Added → taken by a worker. */
  readonly waitedMs: number
  /** Taken → finished, in the worker. */
  readonly processedMs: number
}

/** The options coinpipe's `EtlQueue.enqueue` adds a job with, so the baseline pays for the same ones. */
const KEEP_FINISHED = { age: 24 * 3600, count: 1000 }
const QUEUE = 'noop'
const JOB_TIMEOUT_MS = 10_000
const WARM_UP_JOBS = 5

/**
 * The bare BullMQ round trip coinpipe's job overhead is measured against: a Queue, a QueueEvents and
 * a Worker with a no-op processor (concurrency 2, like the benchmark's workers) under `prefix`, `jobs`
 * jobs added one at a time with coinpipe's job options and awaited as coinpipe's are.
 */
export async function bareRoundTrips(redisUrl: string, prefix: string, jobs: number): Promise<JobTiming[]> {
  const connection = { url: redisUrl }
  const queue = new Queue(QUEUE, { connection, prefix })
  const events = new QueueEvents(QUEUE, { connection, prefix })
  const worker = new Worker(QUEUE, () => Promise.resolve({ ok: true }), {
    connection,
    prefix,
    concurrency: 2,
  })
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()])
    const timings: JobTiming[] = []
    for (let i = 0; i < WARM_UP_JOBS + jobs; i++) {
      const started = performance.now()
      const jobId = `noop-${randomUUID()}`
      const job = await queue.add(
        QUEUE,
        { source: 'noop', trigger: 'cli' },
        {
          jobId,
          deduplication: { id: 'run:noop' },
          removeOnComplete: KEEP_FINISHED,
          removeOnFail: KEEP_FINISHED,
        },
      )
      await job.waitUntilFinished(events, JOB_TIMEOUT_MS)
      const totalMs = performance.now() - started
      const done = await queue.getJob(jobId)
      if (i >= WARM_UP_JOBS && done) timings.push(jobTiming(done, totalMs))
    }
    return timings
  } finally {
    await worker.close()
    await events.close()
    await queue.close()
  }
}

/** The timing of finished job `job`, which took `totalMs` from add to completion as the producer saw it. */
export function jobTiming(job: Job, totalMs: number): JobTiming {
  const { timestamp, processedOn = timestamp, finishedOn = processedOn } = job
  return { totalMs, waitedMs: processedOn - timestamp, processedMs: finishedOn - processedOn }
}
