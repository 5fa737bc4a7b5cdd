import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Queue } from 'bullmq'
import { MAIN_JS } from '../test/helpers/cli.js'

/** `coinpipe worker` processes of the benchmark, all taking jobs from one queue. */
export interface WorkerPool {
  readonly pids: readonly number[]
  /** Rejects as soon as a worker exits before `stop`: a crash fails whatever waits on the queue. */
  readonly crashed: Promise<never>
  /** SIGTERM (the worker's graceful stop), then SIGKILL after `STOP_TIMEOUT_MS`. */
  stop(): Promise<void>
}

export interface WorkerPoolOptions {
  readonly env: NodeJS.ProcessEnv
  /** A directory without `.env`, so the workers read only `env`. */
  readonly cwd: string
  readonly concurrency: number
  /** The producer's queue, the one the workers take jobs from: it counts their connections. */
  readonly queue: Queue
}

const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000
const OUTPUT_TAIL_CHARS = 4_000

const live = new Set<ChildProcess>()
// The last resort when the benchmark dies: nothing it started outlives it.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/**
 * Starts `count` × `node dist/bin/coinpipe.js worker --concurrency N` and resolves once BullMQ
 * counts that many workers on the queue (their blocking connections, which BullMQ names after the
 * queue): from then on a job is taken at once. Their heartbeat in `<prefix>:etl:workers` comes from
 * another connection and says a process is alive, not that BullMQ is taking its jobs yet.
 */
export async function startWorkers(count: number, options: WorkerPoolOptions): Promise<WorkerPool> {
  let stopping = false
  let reportCrash: (error: Error) => void = () => undefined
  const crashed = new Promise<never>((_, reject) => (reportCrash = reject))
  crashed.catch(() => undefined) // raced by every wait; this only keeps an unraced crash from going unhandled
  const children = Array.from({ length: count }, () => {
    const child = spawn(process.execPath, [MAIN_JS, 'worker', '--concurrency', String(options.concurrency)], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    live.add(child)
    let output = ''
    const keep = (chunk: string) => (output = (output + chunk).slice(-OUTPUT_TAIL_CHARS))
    child.stdout?.setEncoding('utf8').on('data', keep)
    child.stderr?.setEncoding('utf8').on('data', keep)
    child.once('error', (error) => reportCrash(error))
    child.once('exit', (code, signal) => {
      live.delete(child)
      if (!stopping)
        reportCrash(
          new Error(
            `worker ${child.pid} exited (${signal ?? `code ${code}`}) while in use:\n${output.trim()}`,
          ),
        )
    })
    return child
  })

  const stop = async () => {
    stopping = true
    await Promise.all(children.map(stopChild))
  }
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS
    while ((await options.queue.getWorkersCount()) < count) {
      if (Date.now() > deadline)
        throw new Error(`${count} worker(s) not taking jobs after ${READY_TIMEOUT_MS} ms`)
      await Promise.race([sleep(50), crashed])
    }
  } catch (error) {
    await stop()
    throw error
  }
  return { pids: children.map((c) => c.pid!), crashed, stop }
}

/** Stops every worker still running, whichever pool started it. */
export async function stopAllWorkers(): Promise<void> {
  await Promise.all([...live].map(stopChild))
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}
