import { readFileSync } from 'node:fs'
import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'

/**
 * The schemas of the identity tables: the override files (shipped and the user's) and the platform
 * table. Imported only to check a file a user gives, and by the test that checks the shipped ones,
 * so a command that never reads a user file never loads TypeBox.
 */

const OverrideEntry = Type.Object(
  {
    asset_id: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,99}$' })),
    coingecko: Type.Optional(Type.String({ minLength: 1 })),
    coinpaprika: Type.Optional(Type.String({ minLength: 1 })),
    members: Type.Optional(
      Type.Array(
        Type.Object(
          { source: Type.String({ minLength: 1 }), source_asset_id: Type.String({ minLength: 1 }) },
          { additionalProperties: false },
        ),
      ),
    ),
    why: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
)
export const OverrideFile = Type.Object({
  $comment: Type.Optional(Type.String()),
  assets: Type.Array(OverrideEntry),
})
export const PlatformFile = Type.Object({
  $comment: Type.Optional(Type.String()),
  platforms: Type.Record(Type.String(), Type.Object({ coingecko: Type.String(), evm: Type.Boolean() })),
})

export type OverrideFileData = Static<typeof OverrideFile>
export type PlatformFileData = Static<typeof PlatformFile>

export function readOverrideFile(path: string): OverrideFileData {
  return readCheckedJson(path, OverrideFile)
}

export function readPlatformFile(path: string): PlatformFileData {
  return readCheckedJson(path, PlatformFile)
}

/** Parses a JSON file and checks it against `schema`; throws naming the file and the first problem. */
function readCheckedJson<T extends TSchema>(path: string, schema: T): Static<T> {
  let data: unknown
  try {
    data = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (!Value.Check(schema, data)) {
    const first = [...Value.Errors(schema, data)][0]
    throw new Error(`${path}: ${first ? `${first.instancePath || '/'} ${first.message}` : 'invalid'}`)
  }
  return data
}
