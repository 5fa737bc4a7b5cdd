import type { AliasMethod } from '../db/schema.js'

// What the resolver reads (evidence, overrides, options) and what it answers (assignments, conflicts).

/** What coinpipe knows about one source's asset: its latest observation and its contracts. */
export interface SourceAssetEvidence {
  readonly source: string
  readonly sourceAssetId: string
  /** Upper-case. */
  readonly symbol: string
  readonly name: string | null
  readonly rank: number | null
  readonly marketCapUsd: number | null
  readonly priceUsd: number | null
  readonly observedAt: string | null
  readonly active: boolean
  /** Platform (CoinGecko's platform ids) and address (EVM lower-cased). */
  readonly contracts: readonly { readonly platform: string; readonly address: string }[]
}

export interface SourceAssetId {
  readonly source: string
  readonly sourceAssetId: string
}

/** A reviewed statement that these source assets are one asset, optionally with its id. */
export interface AssetOverride {
  readonly assetId?: string
  readonly members: readonly SourceAssetId[]
  readonly why: string
}

export interface ResolveOptions {
  /**
   * Sources that list each asset once under their own id (CoinGecko, CoinPaprika), strongest first.
   * One asset never holds two of their ids. Other sources (CSV, manual) may alias one asset many times.
   */
  readonly catalogSources: readonly string[]
  /** Two prices agree when they differ by at most this share of the lower one, in percent. */
  readonly priceTolerancePct: number
  /** …and were observed at most this far apart. */
  readonly priceWindowMs: number
}

/** How far an assignment made by each method is trusted; a price join computes its own. */
export const METHOD_CONFIDENCE = {
  override: 1,
  contract: 0.95,
  symbol_name: 0.9,
  symbolOnly: 0.5,
  symbol_price: 0.75,
  new: 1,
} as const

export interface Assignment {
  readonly assetId: string
  readonly method: AliasMethod
  readonly confidence: number
}

export interface ResolvedAsset {
  readonly id: string
  readonly symbol: string
  readonly name: string
}

export type ConflictReason =
  | 'AMBIGUOUS_CONTRACT'
  | 'AMBIGUOUS_NAME'
  | 'AMBIGUOUS_PRICE'
  | 'AMBIGUOUS_SYMBOL'
  | 'INELIGIBLE_CANDIDATE'
  | 'OVERRIDE_CLASH'

export interface ConflictCandidate extends SourceAssetId {
  readonly assetId: string
  readonly symbol: string
  readonly name: string | null
  readonly why: string
}

/** Evidence that pointed more than one way: the source asset was kept apart and is reported. */
export interface IdentityConflict extends SourceAssetId {
  readonly symbol: string
  readonly name: string | null
  /** Where the source asset landed meanwhile (its own asset unless stronger evidence placed it). */
  readonly assetId: string
  readonly reason: ConflictReason
  readonly detail: string
  readonly candidates: readonly ConflictCandidate[]
}

export interface Resolution {
  /** By `sourceAssetKey`. */
  readonly assignments: ReadonlyMap<string, Assignment>
  readonly assets: ReadonlyMap<string, ResolvedAsset>
  readonly conflicts: readonly IdentityConflict[]
}
