import { Cron } from 'croner'
import type { Logger } from 'pino'
import { isDatabaseUnreachable } from '../db/connection-error.js'
import type { Db } from '../db/database.js'
import { refreshAllCandleHours } from '../db/repositories/candle-hours-repository.js'
import { errorMessage } from '../errors.js'

/** How often the rollup catches up with the records: a reader takes the hours it lags from the records. */
const REFRESH_PATTERN = '*/30 * * * * *'

export interface CandleRollupKeeper {
  stop(): Promise<void>
}

/**
 * Keeps the candles' hourly rollup up to date in the background: once at start, then every 30 s
 * (never two refreshes at once). A failed refresh is logged and tried again on the next tick; the
 * marks it did not clear stay, so candles stay exact meanwhile, only slower.
 */
export function keepCandleRollup(db: Db, log: Logger): CandleRollupKeeper {
  const abort = new AbortController()
  let running: Promise<void> | undefined
  const refresh = () => {
    // The first refresh (at start) may still be going when the schedule first fires.
    if (running) return running
    running = refreshAllCandleHours(db, abort.signal)
      .then(
        (cleared) => {
          if (cleared > 0) log.debug({ cleared }, 'candle rollup refreshed')
        },
        (error: unknown) => {
          if (isDatabaseUnreachable(error))
            log.warn(
              { error: errorMessage(error) },
              'candle rollup not refreshed: the database is unreachable',
            )
          else log.error({ err: error }, 'candle rollup not refreshed')
        },
      )
      .finally(() => (running = undefined))
    return running
  }
  const job = new Cron(REFRESH_PATTERN, { name: 'candle-rollup' }, refresh)
  void refresh()
  return {
    async stop() {
      job.stop()
      abort.abort()
      await running
    },
  }
}
