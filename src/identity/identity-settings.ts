import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { PACKAGE_ROOT, type IdentityConfig } from '../config.js'
import { ConfigError } from '../errors.js'
import { normalizeAddress } from './identity-keys.js'
import type { AssetOverride, ResolveOptions, SourceAssetId } from './resolve-identities.js'

/** Where the shipped, reviewable tables live. */
export const SHIPPED_OVERRIDES = 'data/asset-overrides.json'
export const SHIPPED_PLATFORMS = 'data/platforms.json'

/** Everything the resolver needs besides the evidence: reviewed overrides, platform ids and tolerances. */
export interface IdentitySettings {
  readonly overrides: readonly AssetOverride[]
  /** CoinPaprika platform id → CoinGecko platform id and whether addresses are EVM (case-insensitive). */
  readonly platforms: ReadonlyMap<string, { readonly coingecko: string; readonly evm: boolean }>
  readonly resolve: ResolveOptions
  /** How many CoinPaprika `/coins/{id}` lookups one run may spend on unresolved assets. */
  readonly contractLookupsPerRun: number
  /** The CoinGecko coins list is fetched again once it is this old; 0 never fetches it. */
  readonly coinsListMaxAgeMs: number
}

export const CATALOG_SOURCES = ['coingecko', 'coinpaprika'] as const

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
const OverrideFile = Type.Object({
  $comment: Type.Optional(Type.String()),
  assets: Type.Array(OverrideEntry),
})
const PlatformFile = Type.Object({
  $comment: Type.Optional(Type.String()),
  platforms: Type.Record(Type.String(), Type.Object({ coingecko: Type.String(), evm: Type.Boolean() })),
})

/**
 * Reads an override file; throws one message naming the file and every bad entry. Each entry lists
 * its members by `coingecko` / `coinpaprika` id or as `members: [{source, source_asset_id}]`.
 */
export function readOverrides(path: string): AssetOverride[] {
  const file = readJson(path, OverrideFile)
  const problems: string[] = []
  const seen = new Map<string, number>()
  const overrides = file.assets.map((entry: Static<typeof OverrideEntry>, index) => {
    const members: SourceAssetId[] = [
      ...(entry.coingecko ? [{ source: 'coingecko', sourceAssetId: entry.coingecko }] : []),
      ...(entry.coinpaprika ? [{ source: 'coinpaprika', sourceAssetId: entry.coinpaprika }] : []),
      ...(entry.members ?? []).map((m) => ({ source: m.source, sourceAssetId: m.source_asset_id })),
    ]
    if (members.length === 0) problems.push(`assets[${index}] names no source id`)
    for (const m of members) {
      const key = `${m.source}:${m.sourceAssetId}`
      const earlier = seen.get(key)
      if (earlier !== undefined) problems.push(`assets[${index}] repeats ${key} from assets[${earlier}]`)
      seen.set(key, index)
    }
    return { ...(entry.asset_id ? { assetId: entry.asset_id } : {}), members, why: entry.why }
  })
  if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`)
  return overrides
}

export function readPlatforms(path: string): IdentitySettings['platforms'] {
  return new Map(Object.entries(readJson(path, PlatformFile).platforms))
}

/** Shipped overrides, then the user's, which win for any source id both name. */
export function mergeOverrides(
  shipped: readonly AssetOverride[],
  user: readonly AssetOverride[],
): AssetOverride[] {
  const named = new Set(user.flatMap((o) => o.members.map((m) => `${m.source}\u0000${m.sourceAssetId}`)))
  const kept = shipped.filter((o) => !o.members.some((m) => named.has(`${m.source}\u0000${m.sourceAssetId}`)))
  return [...user, ...kept]
}

/** A CoinPaprika contract as a CoinGecko platform and a comparable address; undefined for unknown platforms. */
export function translateContract(
  platforms: IdentitySettings['platforms'],
  contract: { platform: string; contract: string },
): { platform: string; address: string } | undefined {
  const platform = platforms.get(contract.platform)
  const address = normalizeAddress(contract.contract)
  if (!platform || address === null) return undefined
  return { platform: platform.coingecko, address: platform.evm ? address.toLowerCase() : address }
}

export function loadIdentitySettings(opts: {
  packageRoot: string
  overridesPath?: string | undefined
  priceTolerancePct: number
  contractLookupsPerRun: number
  coinsListRefreshMs: number
}): IdentitySettings {
  const shipped = readOverrides(resolve(opts.packageRoot, SHIPPED_OVERRIDES))
  const user = opts.overridesPath ? readOverrides(opts.overridesPath) : []
  return {
    overrides: mergeOverrides(shipped, user),
    platforms: readPlatforms(resolve(opts.packageRoot, SHIPPED_PLATFORMS)),
    resolve: {
      catalogSources: CATALOG_SOURCES,
      priceTolerancePct: opts.priceTolerancePct,
      priceWindowMs: 60 * 60 * 1000,
    },
    contractLookupsPerRun: opts.contractLookupsPerRun,
    coinsListMaxAgeMs: opts.coinsListRefreshMs,
  }
}

function readJson<T extends TSchema>(path: string, schema: T): Static<T> {
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

export const DEFAULT_PRICE_TOLERANCE_PCT = 2
export const DEFAULT_CONTRACT_LOOKUPS_PER_RUN = 25

let shippedDefaults: IdentitySettings | undefined

/** The shipped tables with default tolerances (read once). */
export function defaultIdentitySettings(): IdentitySettings {
  return (shippedDefaults ??= loadIdentitySettings({
    packageRoot: PACKAGE_ROOT,
    priceTolerancePct: DEFAULT_PRICE_TOLERANCE_PCT,
    contractLookupsPerRun: DEFAULT_CONTRACT_LOOKUPS_PER_RUN,
    coinsListRefreshMs: 24 * 60 * 60 * 1000,
  }))
}

/** The settings `config` asks for; a bad override file is a configuration error naming the file. */
export function identitySettingsFromConfig(config: IdentityConfig): IdentitySettings {
  try {
    return loadIdentitySettings({ packageRoot: PACKAGE_ROOT, ...config })
  } catch (error) {
    throw new ConfigError([
      `IDENTITY_OVERRIDES_PATH or a shipped identity table is invalid: ${error instanceof Error ? error.message : String(error)}`,
    ])
  }
}
