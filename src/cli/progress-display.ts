import { Writable } from 'node:stream'
import { prettyFactory } from 'pino-pretty'
import type { EtlRunRow } from '../db/schema.js'
import type { RunProgress } from '../pipeline/run-pipeline.js'
import { renderProgressLine, type ProgressState } from './progress-line.js'

/** The `etl run` progress line on a terminal: one line, redrawn in place, per source. */
export interface ProgressDisplay {
  /** Give the logger this: its lines print (pretty) above the progress line instead of through it. */
  readonly logStream: Writable
  start(source: string): void
  update(progress: RunProgress): void
  /** Draws the source's final line and moves below it. */
  finish(run: EtlRunRow): void
  /** Stops redrawing (idempotent); a line left half-done is ended. */
  stop(): void
}

const REDRAW_MS = 100
const CLEAR_LINE = '\r\x1b[K'

/** Draws on `out`, which must be a terminal: callers check `isTTY` (and `--json`) first. */
export function createProgressDisplay(
  out: NodeJS.WriteStream,
  now: () => number = Date.now,
): ProgressDisplay {
  const pretty = prettyFactory({ colorize: out.hasColors?.() ?? false, translateTime: 'SYS:HH:MM:ss' })
  let state: ProgressState | undefined
  let startedAt = 0
  let timer: NodeJS.Timeout | undefined

  const draw = () => {
    if (!state) return
    state = { ...state, elapsedMs: now() - startedAt }
    out.write(CLEAR_LINE + renderProgressLine(state, out.columns || 80))
  }
  const stopTimer = () => {
    clearInterval(timer)
    timer = undefined
  }

  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      // pino writes one JSON line per call.
      out.write(CLEAR_LINE + pretty(chunk.toString()))
      draw()
      done()
    },
  })

  return {
    logStream,
    start(source) {
      stopTimer()
      startedAt = now()
      state = { source, rows: 0, batches: 0, rejected: 0, elapsedMs: 0 }
      draw()
      // Between batches the clock, the rate and an unknown-size pulse still move.
      timer = setInterval(draw, REDRAW_MS).unref()
    },
    update(progress) {
      if (!state) return
      state = {
        ...state,
        rows: progress.extracted,
        batches: progress.batches,
        rejected: progress.rejected,
        fraction: progress.fraction,
      }
      draw()
    },
    finish(run) {
      stopTimer()
      if (!state) return
      state = {
        ...state,
        rows: run.extracted,
        batches: run.batches,
        rejected: run.rejected,
        done: run.status === 'succeeded',
      }
      draw()
      out.write('\n')
      state = undefined
    },
    stop() {
      stopTimer()
      if (state) out.write('\n')
      state = undefined
    },
  }
}
