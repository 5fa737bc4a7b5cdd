import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root, whatever the test's working directory. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The built CLI; `npm test` runs `npm run build` first. */
export const MAIN_JS = join(REPO_ROOT, 'dist/bin/coinpipe.js')

/** Every variable coinpipe reads: a child never inherits the machine's value of one of them. */
const COINPIPE_VARIABLE =
  /^(DATABASE_URL|HOST|PORT|SOURCES|CSV_|COINGECKO_|COINPAPRIKA_|UPSTREAM_|ETL_|RUN_COMPARE_|API_|IDENTITY_|ASSET_|REDIS_URL|QUEUE_|LOG_LEVEL|OTEL_)/

/**
 * The environment of a child coinpipe: the machine's minus anything coinpipe would read, then quiet,
 * schedule-free defaults, then `vars`. Run children with a temp dir as cwd so no `.env` is read either.
 */
export function cliEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !COINPIPE_VARIABLE.test(name))
  return {
    ...Object.fromEntries(inherited),
    LOG_LEVEL: 'warn',
    ETL_RUN_ON_START: 'false',
    ETL_SCHEDULE: 'off',
    ...vars,
  }
}

export interface ProcessResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface StartedProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** Output so far. */
  stdout(): string
  stderr(): string
  /** Whether it has exited (a stopped process has not). */
  exitedYet(): boolean
  readonly exited: Promise<ProcessResult>
}

export interface SpawnOptions {
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
}

const started = new Set<StartedProcess>()

/**
 * Starts `command` in a process group of its own, so `killStartedProcesses` also takes down whatever
 * it spawned (npx → sh → node).
 */
export function startProcess(command: string, args: readonly string[], opts: SpawnOptions): StartedProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  if (child.pid === undefined) throw new Error(`cannot start ${command}`)
  let stdout = ''
  let stderr = ''
  let done = false
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<ProcessResult>((resolveExit, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      done = true
      resolveExit({ code, signal, stdout, stderr })
    })
  })
  const proc: StartedProcess = {
    child,
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    exitedYet: () => done,
    exited,
  }
  exited.catch(() => undefined) // awaited by the test; this only keeps a spawn failure from going unhandled
  started.add(proc)
  return proc
}

/** `node dist/bin/coinpipe.js <args>`, started and left running. */
export function startCli(args: readonly string[], opts: SpawnOptions): StartedProcess {
  return startProcess(process.execPath, [MAIN_JS, ...args], opts)
}

/** `node dist/bin/coinpipe.js <args>` to completion; a run longer than `timeoutMs` is killed and fails. */
export async function runCli(
  args: readonly string[],
  opts: SpawnOptions & { timeoutMs?: number },
): Promise<ProcessResult> {
  const proc = startCli(args, opts)
  const timeoutMs = opts.timeoutMs ?? 20_000
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    killGroup(proc.pid, 'SIGKILL')
  }, timeoutMs)
  try {
    const result = await proc.exited
    if (timedOut)
      throw new Error(`coinpipe ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${result.stderr}`)
    return result
  } finally {
    clearTimeout(timer)
  }
}

/**
 * SIGKILLs every process group started here since the last call, even one whose leader has exited
 * (an orphaned grandchild), and waits for the direct children.
 */
export async function killStartedProcesses(): Promise<void> {
  const procs = [...started]
  started.clear()
  for (const proc of procs) killGroup(proc.pid, 'SIGKILL')
  await Promise.allSettled(procs.map((proc) => proc.exited))
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

/** The complete JSON log lines a process printed (pino's format when stdout is not a terminal). */
export function logLines(text: string): Record<string, unknown>[] {
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}
