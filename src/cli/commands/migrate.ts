import { openCliContext } from '../cli-context.js'
import { EXIT } from '../exit-codes.js'

/** `coinpipe migrate`: opening the CLI context applies every pending migration. */
export async function migrateCommand(): Promise<number> {
  const { config, migrated, close } = await openCliContext()
  await close()
  for (const name of migrated) console.log(`applied ${name}`)
  console.log(`the ${config.database.kind} database is up to date`)
  return EXIT.OK
}
