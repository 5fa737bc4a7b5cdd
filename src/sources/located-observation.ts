import type { SourceAssetRef, SourceObservation } from './source.js'

/** Where the rows of one batch stand: each row's line (or item position) and text, by index. */
export interface RowLocator {
  lineOf(index: number): number | null
  rawOf(index: number): string | null
}

/**
 * An observation that finds its row's line and text through its batch's locator, only when asked
 * for (a conflict or rejection message): a batch holds one small object per row, not each row's
 * text as well.
 */
export class LocatedObservation implements SourceObservation {
  constructor(
    readonly asset: SourceAssetRef,
    readonly observedAt: string,
    readonly priceUsd: number,
    readonly marketCapUsd: number | null,
    readonly volume24hUsd: number | null,
    readonly change24hPct: number | null,
    readonly rank: number | null,
    readonly circulatingSupply: number | null,
    readonly totalSupply: number | null,
    readonly maxSupply: number | null,
    private readonly rows: RowLocator,
    private readonly index: number,
  ) {}

  get line(): number | null {
    return this.rows.lineOf(this.index)
  }

  get raw(): string | null {
    return this.rows.rawOf(this.index)
  }
}
