import type { CompareThresholds } from '../config.js'
import type { FinishedRunStatus, RunStatus } from './run.js'
import { AppError } from '../errors.js'

/**
 * Comparing two finished runs of one source: what changed between them, and which changes look like
 * something broke. Pure: the API feeds it two run rows and the configured thresholds.
 */

/** The figures of one finished run that a comparison looks at. */
export interface RunFigures {
  readonly status: FinishedRunStatus
  readonly extracted: number
  readonly loaded: number
  readonly unchanged: number
  readonly rejected: number
  /** Null when the run never recorded one. */
  readonly durationMs: number | null
}

export type AnomalyCode =
  'RECORD_COUNT_SWING' | 'DURATION_SWING' | 'STATUS_REGRESSION' | 'ZERO_RECORDS' | 'REJECTION_RATE_JUMP'

export interface Anomaly {
  readonly code: AnomalyCode
  readonly message: string
}

/** Head minus base. A percentage is null where it has no meaning (a change from zero). */
export interface RunDelta {
  readonly records: number
  readonly recordsPct: number | null
  readonly durationMs: number | null
  readonly durationPct: number | null
  readonly rejected: number
  readonly rejectionRatePts: number
  readonly extracted: number
}

export interface RunComparison {
  readonly delta: RunDelta
  readonly anomalies: readonly Anomaly[]
}

/** A run still going: its counts are moving, so comparing it would flag noise. */
export class RunNotFinishedError extends AppError {
  readonly code = 'RUN_NOT_FINISHED'
  constructor(readonly runId: number) {
    super(`run ${runId} is still running; compare it once it has finished`, { context: { runId } })
    this.retryable = true
  }
}

/**
 * The figures of a finished run; throws `RunNotFinishedError` for one still running. A skipped run
 * never ran: callers refuse it first, as a bad request.
 */
export function finishedRunFigures(
  run: Omit<RunFigures, 'status'> & { readonly id: number; readonly status: RunStatus },
): RunFigures {
  const { status } = run
  if (status === 'running') throw new RunNotFinishedError(run.id)
  if (status === 'skipped') throw new Error(`run ${run.id} was skipped and has nothing to compare`)
  return {
    status,
    extracted: run.extracted,
    loaded: run.loaded,
    unchanged: run.unchanged,
    rejected: run.rejected,
    durationMs: run.durationMs,
  }
}

const STATUS_RANK: Readonly<Record<FinishedRunStatus, number>> = { succeeded: 0, partial: 1, failed: 2 }

/** Records a run left in place: new rows plus rows that were already stored with the same values. */
export function recordsOf(run: Pick<RunFigures, 'loaded' | 'unchanged'>): number {
  return run.loaded + run.unchanged
}

/** Rejected rows as a percentage of extracted rows; 0 when nothing was extracted (nothing to reject). */
export function rejectionRatePct(run: Pick<RunFigures, 'extracted' | 'rejected'>): number {
  return run.extracted === 0 ? 0 : (run.rejected / run.extracted) * 100
}

/**
 * Compares `head` against `base`. Every threshold is exclusive: a change exactly at the threshold is
 * not flagged. Percentages in the answer are rounded to two decimals; the flags use exact values.
 *
 * - `RECORD_COUNT_SWING`: records changed by more than `recordSwingPct`, or went from 0 to some.
 * - `DURATION_SWING`: duration changed by more than `durationSwingPct`; not judged when base took
 *   0 ms (below the clock's resolution, no baseline) or either duration is unknown.
 * - `STATUS_REGRESSION`: head ended worse than base (succeeded < partial < failed).
 * - `ZERO_RECORDS`: head left no records although base did, or although head extracted rows.
 *   Two idle runs (nothing extracted, nothing stored, e.g. re-importing an unchanged file) are not flagged.
 * - `REJECTION_RATE_JUMP`: the rejected share of extracted rows rose by more than `rejectionJumpPts`.
 */
export function compareRuns(
  base: RunFigures,
  head: RunFigures,
  thresholds: CompareThresholds,
): RunComparison {
  const baseRecords = recordsOf(base)
  const headRecords = recordsOf(head)
  const recordsExact = percentChange(baseRecords, headRecords)
  const durationExact =
    base.durationMs === null || head.durationMs === null
      ? null
      : percentChange(base.durationMs, head.durationMs)
  const rateExact = rejectionRatePct(head) - rejectionRatePct(base)

  const anomalies: Anomaly[] = []
  if (baseRecords === 0 && headRecords > 0) {
    anomalies.push({
      code: 'RECORD_COUNT_SWING',
      message: `records went from 0 to ${headRecords}`,
    })
  } else if (recordsExact !== null && Math.abs(recordsExact) > thresholds.recordSwingPct) {
    anomalies.push({
      code: 'RECORD_COUNT_SWING',
      message: `records ${recordsExact > 0 ? 'rose' : 'fell'} by ${formatPct(Math.abs(recordsExact))}% (${baseRecords} → ${headRecords}), beyond ${thresholds.recordSwingPct}%`,
    })
  }
  if (durationExact !== null && Math.abs(durationExact) > thresholds.durationSwingPct) {
    anomalies.push({
      code: 'DURATION_SWING',
      message: `duration ${durationExact > 0 ? 'rose' : 'fell'} by ${formatPct(Math.abs(durationExact))}% (${base.durationMs} ms → ${head.durationMs} ms), beyond ${thresholds.durationSwingPct}%`,
    })
  }
  if (STATUS_RANK[head.status] > STATUS_RANK[base.status]) {
    anomalies.push({
      code: 'STATUS_REGRESSION',
      message: `status went from ${base.status} to ${head.status}`,
    })
  }
  if (headRecords === 0 && (baseRecords > 0 || head.extracted > 0)) {
    anomalies.push({
      code: 'ZERO_RECORDS',
      message:
        baseRecords > 0
          ? `head left no records where base left ${baseRecords}`
          : `head extracted ${head.extracted} rows but left no records`,
    })
  }
  if (rateExact > thresholds.rejectionJumpPts) {
    anomalies.push({
      code: 'REJECTION_RATE_JUMP',
      message: `rejected share of extracted rows rose by ${formatPct(rateExact)} points (${formatPct(rejectionRatePct(base))}% → ${formatPct(rejectionRatePct(head))}%), beyond ${thresholds.rejectionJumpPts} points`,
    })
  }

  return {
    delta: {
      records: headRecords - baseRecords,
      recordsPct: round2(recordsExact),
      durationMs:
        base.durationMs === null || head.durationMs === null ? null : head.durationMs - base.durationMs,
      durationPct: round2(durationExact),
      rejected: head.rejected - base.rejected,
      rejectionRatePts: round2(rateExact),
      extracted: head.extracted - base.extracted,
    },
    anomalies,
  }
}

/** (head − base) / base in percent; 0 when both are 0, null when only base is 0. */
function percentChange(base: number, head: number): number | null {
  if (base === 0) return head === 0 ? 0 : null
  return ((head - base) / base) * 100
}

function round2(value: number): number
function round2(value: number | null): number | null
function round2(value: number | null): number | null {
  return value === null ? null : Math.round(value * 100) / 100
}

function formatPct(value: number): string {
  return String(round2(value))
}
