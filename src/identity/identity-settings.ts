import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { PACKAGE_ROOT, type IdentityConfig } from '../config.js'
import { ConfigError } from '../errors.js'
import type { OverrideFileData, PlatformFileData } from './identity-files.js'
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

/**
 * The overrides of an override file's content; throws one message naming the file and every bad
 * entry. Each entry lists its members by `coingecko` / `coinpaprika` id or as
 * `members: [{source, source_asset_id}]`.
 */
export function overridesOf(file: OverrideFileData, path: string): AssetOverride[] {
  const problems: string[] = []
  const seen = new Map<string, number>()
  const overrides = file.assets.map((entry, index) => {
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

/** How far identity evidence is trusted: the tolerances configuration sets. */
export type IdentityTolerances = Omit<IdentityConfig, 'overridesPath'>

/**
 * The shipped tables with these tolerances. The tables ship with the package and are checked
 * against their schema by a test (identity-files.test.ts), so reading them loads no validator.
 */
export function shippedIdentitySettings(tolerances: IdentityTolerances): IdentitySettings {
  const overrides = overridesOf(
    readShipped<OverrideFileData>(SHIPPED_OVERRIDES),
    resolve(PACKAGE_ROOT, SHIPPED_OVERRIDES),
  )
  return withOverrides(shippedTables(overrides), tolerances)
}

let shippedDefaults: IdentitySettings | undefined

/** The shipped tables with default tolerances (read once). */
export function defaultIdentitySettings(): IdentitySettings {
  return (shippedDefaults ??= shippedIdentitySettings({
    priceTolerancePct: DEFAULT_PRICE_TOLERANCE_PCT,
    contractLookupsPerRun: DEFAULT_CONTRACT_LOOKUPS_PER_RUN,
    coinsListRefreshMs: 24 * 60 * 60 * 1000,
  }))
}

/**
 * The settings `config` asks for: the shipped tables, and the user's override file on top, checked
 * against its schema (TypeBox, loaded only then). A bad file is a configuration error naming it.
 */
export async function identitySettingsFromConfig(config: IdentityConfig): Promise<IdentitySettings> {
  const shipped = shippedIdentitySettings(config)
  if (!config.overridesPath) return shipped
  try {
    const { readOverrideFile } = await import('./identity-files.js')
    const user = overridesOf(readOverrideFile(config.overridesPath), config.overridesPath)
    return { ...shipped, overrides: mergeOverrides(shipped.overrides, user) }
  } catch (error) {
    throw new ConfigError([
      `IDENTITY_OVERRIDES_PATH is invalid: ${error instanceof Error ? error.message : String(error)}`,
    ])
  }
}

export const DEFAULT_PRICE_TOLERANCE_PCT = 2
export const DEFAULT_CONTRACT_LOOKUPS_PER_RUN = 25

function shippedTables(overrides: AssetOverride[]): Pick<IdentitySettings, 'overrides' | 'platforms'> {
  const platforms = readShipped<PlatformFileData>(SHIPPED_PLATFORMS).platforms
  return { overrides, platforms: new Map(Object.entries(platforms)) }
}

function withOverrides(
  tables: Pick<IdentitySettings, 'overrides' | 'platforms'>,
  tolerances: IdentityTolerances,
): IdentitySettings {
  return {
    ...tables,
    resolve: {
      catalogSources: CATALOG_SOURCES,
      priceTolerancePct: tolerances.priceTolerancePct,
      priceWindowMs: 60 * 60 * 1000,
    },
    contractLookupsPerRun: tolerances.contractLookupsPerRun,
    coinsListMaxAgeMs: tolerances.coinsListRefreshMs,
  }
}

function readShipped<T>(file: string): T {
  return JSON.parse(readFileSync(resolve(PACKAGE_ROOT, file), 'utf8')) as T
}
