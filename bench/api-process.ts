import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export type ServerKind = 'coinpipe' | 'bare'

/** A server child process of the API benchmark, listening on 127.0.0.1. */
export interface ServerProcess {
  readonly kind: ServerKind
  readonly pid: number
  readonly baseUrl: string
  /** SIGTERM, then waits for a clean exit (a CPU profile is written then). */
  stop(): Promise<void>
}

export const LISTENING_PREFIX = 'API_BENCH_LISTENING '

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const SERVER_SCRIPT = resolve(BENCH_DIR, 'api-server.ts')
const START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 30_000

/**
 * Starts `bench/api-server.ts <kind> <url>` in its own Node process, so the load generator never
 * shares the server's event loop. With `cpuProfileDir`, the child writes V8 CPU profiles there on exit
 * (one per thread: tsx's module hooks run in a worker).
 */
export function startServer(
  kind: ServerKind,
  databaseUrl: string,
  opts: { cpuProfileDir?: string } = {},
): Promise<ServerProcess> {
  // Node names each thread's profile CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; the main thread is 0.
  const profile = opts.cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfileDir]
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', SERVER_SCRIPT, kind, databaseUrl], {
    cwd: resolve(BENCH_DIR, '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<number | string | null>((done) =>
    child.once('exit', (code, signal) => done(signal ?? code)),
  )
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await exited
    clearTimeout(timer)
  }
  return new Promise((resolveStart, reject) => {
    let stdout = ''
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`${kind} server did not start within ${START_TIMEOUT_MS / 1000} s`))
    }, START_TIMEOUT_MS)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (text: string) => {
      stdout += text
      const line = stdout.split('\n').find((l) => l.startsWith(LISTENING_PREFIX))
      if (line === undefined || child.pid === undefined) return
      clearTimeout(timer)
      const port = Number(line.slice(LISTENING_PREFIX.length))
      resolveStart({ kind, pid: child.pid, baseUrl: `http://127.0.0.1:${port}`, stop })
    })
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    void exited.then((how) => {
      clearTimeout(timer)
      reject(new Error(`${kind} server exited (${String(how)}) before listening`))
    })
  })
}
