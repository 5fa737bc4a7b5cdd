import type { BenchServer } from '../bench/bench-databases.js'

/** One scenario's figures on one dialect (or mode): a row of the report. */
export interface ScenarioResult {
  readonly scenario: string
  /** `sqlite` or `postgres`, with ` + queue` for runs in queue mode. */
  readonly dialect: string
  readonly trials: number
  /** Records the reference run has that the trials ended without. */
  readonly lost: number
  /** Records the trials ended with beyond the reference run's (duplicates and wrong values). */
  readonly duplicated: number
  /** Trials whose runs ended in another status than the rules give. */
  readonly wrongStatus: number
  /** Server errors seen (scenarios that serve HTTP), else null. */
  readonly fiveXx: number | null
  readonly p99Ms: number | null
  /** How the trials went beside the counts (e.g. how many kills landed mid-run). */
  readonly detail: string
  /** Each failed trial: what to run again to see it. */
  readonly failures: readonly string[]
}

export type ProfileName = 'short' | 'full'

/** What every scenario is handed, once per dialect. */
export interface ScenarioContext {
  /** Makes fresh migrated databases of one dialect. */
  readonly server: BenchServer
  /** `short` is what CI can afford; `full` the counts. */
  readonly profile: ProfileName
  readonly seed: number
  /** A scratch directory, removed at the end. */
  readonly workDir: string
  /** A Redis for queue-mode variants (`RELIABILITY_REDIS_URL`), or undefined to skip them. */
  readonly redisUrl: string | undefined
}

/**
 * A file of `reliability/scenarios/` default-exports one of these; `main.ts` runs every one, in
 * file-name order, on each dialect (`--only <id>,…` picks some).
 */
export interface Scenario {
  /** Short name for `--only`, e.g. `kill-import`. */
  readonly id: string
  run(context: ScenarioContext): Promise<ScenarioResult[]>
}
