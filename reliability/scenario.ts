/** One scenario's figures on one dialect: a row of the report. */
export interface ScenarioResult {
  readonly scenario: string
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
