import type { IdentityReference } from './identity-reference.js'
import type { SourceHistory } from './history.js'
import type { SourceName } from '../config.js'
import type { MarketValues } from '../domain/record.js'
import type { Logger } from '../logger.js'
import type { DetectedSchemaChange } from '../domain/schema-change.js'

/** A stream's saved position, owned and interpreted by the stream alone; JSON-serialisable. */
export type StreamCursor = Readonly<Record<string, unknown>>

/** What a source says about an asset: its own id plus whatever identity evidence it carries. */
export interface SourceAssetRef {
  readonly sourceAssetId: string
  readonly symbol: string
  readonly name: string | null
}

/** One row of a payload, normalized to the domain but not yet tied to a canonical asset. */
export interface SourceObservation extends MarketValues {
  readonly asset: SourceAssetRef
  readonly observedAt: string
  /** 1-based line (CSV) or item position (JSON) in the source, for rejections. */
  readonly line: number | null
  readonly raw: string | null
}

export interface RowRejection {
  readonly line: number | null
  readonly reasonCode: string
  readonly message: string
  readonly raw: string | null
}

export interface TransformResult {
  readonly observations: readonly SourceObservation[]
  readonly rejections: readonly RowRejection[]
  /** Fields seen that the declared schema does not know (accepted, and recorded). */
  readonly schemaChanges?: readonly DetectedSchemaChange[]
}

/** A payload as stored in `raw_batches`, plus what the transform needs to read it again. */
export interface RawPayload {
  readonly payload: string
  readonly meta: Readonly<Record<string, unknown>>
}

/** A unit of extraction: stored verbatim before it is transformed. */
export interface ExtractedBatch extends RawPayload {
  readonly rowCount: number
  /** Where the stream stands once this batch is loaded. */
  readonly cursorAfter: StreamCursor
  /** The payload already parsed during extraction, so the live path does not parse it twice. */
  readonly parsed?: unknown
}

export interface ExtractContext {
  /** Aborting ends the stream quietly after the batch in hand. */
  readonly signal: AbortSignal
  /** The run's logger (run id, source, stream). */
  readonly log: Logger
  /**
   * Reports data the upstream would not give and no retry will (a range beyond the plan's
   * history): the run goes on and ends `partial` with `code`.
   */
  readonly shortfall?: (shortfall: { readonly code: string; readonly message: string }) => void
}

export interface Stream {
  /** Unique within its source; the checkpoint key. */
  readonly name: string
  /**
   * Yields batches from `cursor` on (from the start when undefined). Throws an `AppError` when
   * the upstream cannot give the next batch; batches already yielded stay loaded.
   */
  extract(cursor: StreamCursor | undefined, context: ExtractContext): AsyncIterable<ExtractedBatch>
  /** How far through the stream `cursor` stands, 0–1, for a stream that knows its size; for progress only. */
  fractionDone?(cursor: StreamCursor): number | undefined
}

export interface StreamOptions {
  /** CSV only: import these files instead of the configured paths. */
  readonly files?: readonly string[]
}

/** The seam every upstream implements: a folder under `sources/` with the same roles. */
export interface Source {
  readonly name: SourceName
  /** Reason code for a row whose key already holds other values. */
  readonly conflictCode: string
  streams(options: StreamOptions): Promise<readonly Stream[]>
  /** Reference data for asset identity (contract addresses); absent when the source has none. */
  readonly identity?: IdentityReference
  /** The upstream's history, for backfills; absent when the source has none (CSV). */
  readonly history?: SourceHistory
  /** Releases connections; the source may not be used afterwards. */
  close?(): Promise<void>
  /** Pure: payload → observations and rejections. Throws an `AppError` when the whole batch is unusable. */
  transform(stream: string, batch: RawPayload & { readonly parsed?: unknown }): TransformResult
}
