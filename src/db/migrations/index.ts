import type { Migration, MigrationProvider } from 'kysely'
import * as createCoreTables from './2026-11-25T0900-create-core-tables.js'
import * as assetIdentity from './2026-11-26T0900-asset-identity.js'

/** Every migration, in order; imported statically so the bundle needs no file-system scan. */
const MIGRATIONS: Record<string, Migration> = {
  '2026-11-25T0900-create-core-tables': createCoreTables,
  '2026-11-26T0900-asset-identity': assetIdentity,
}

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
}
