/** Where a run stands: `running` until it ends as one of the other three. */
export const RUN_STATUSES = ['running', 'succeeded', 'partial', 'failed'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

/** What started a run: the CLI, the API, the schedule, the run at start-up, or a replay. */
export const RUN_TRIGGERS = ['cli', 'api', 'schedule', 'start', 'replay'] as const
export type RunTrigger = (typeof RUN_TRIGGERS)[number]
