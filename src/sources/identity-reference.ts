import type { Logger } from '../logger.js'

/** A contract as the source names it: its own platform id and the address as given. */
export interface SourceContract {
  readonly platform: string
  readonly contract: string
}

/**
 * Reference data a source offers for asset identity, fetched sparingly because quota matters:
 * CoinGecko lists every coin's contracts in one call; CoinPaprika answers one coin at a time.
 */
export interface IdentityReference {
  /** Every coin's contracts, keyed by the source's asset id (CoinGecko `/coins/list?include_platform=true`). */
  fetchAllContracts?(context: ReferenceContext): Promise<ReadonlyMap<string, readonly SourceContract[]>>
  /** One coin's contracts and whether it is still active (CoinPaprika `/coins/{id}`). */
  fetchCoinContracts?(
    sourceAssetId: string,
    context: ReferenceContext,
  ): Promise<{ readonly active: boolean; readonly contracts: readonly SourceContract[] }>
}

export interface ReferenceContext {
  readonly signal: AbortSignal
  readonly log: Logger
}
