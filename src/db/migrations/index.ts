import type { Migration, MigrationProvider } from 'kysely'
import * as createCoreTables from './2026-11-25T0900-create-core-tables.js'
import * as assetIdentity from './2026-11-26T0900-asset-identity.js'
import * as dropRecordsSourceAssetIndex from './2026-12-06T0900-drop-records-source-asset-index.js'
import * as actors from './2026-12-07T0900-actors.js'
import * as backfillRuns from './2026-12-08T0900-backfill-runs.js'
import * as candleHours from './2026-12-10T0900-candle-hours.js'
import * as candlePending from './2026-12-11T0900-candle-pending.js'

/** Every migration, in order; imported statically so the bundle needs no file-system scan. */
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-25T0900-create-core-tables': createCoreTables,
  '2026-11-26T0900-asset-identity': assetIdentity,
  '2026-12-06T0900-drop-records-source-asset-index': dropRecordsSourceAssetIndex,
  '2026-12-07T0900-actors': actors,
  '2026-12-08T0900-backfill-runs': backfillRuns,
  '2026-12-10T0900-candle-hours': candleHours,
  '2026-12-11T0900-candle-pending': candlePending,
}

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
}
