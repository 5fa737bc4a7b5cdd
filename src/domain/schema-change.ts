export type SchemaChangeKind = 'added' | 'removed' | 'retyped' | 'renamed'

/** What `schema_changes.detail` holds, as JSON. */
export interface SchemaChangeDetail {
  /** One sentence for a person. */
  readonly message: string
  /** The declared type of the field, when the schema knows it. */
  readonly expected?: string
  /** The JSON type seen in the payload. */
  readonly actual?: string
  /** For `renamed`: the field that probably replaced this one. */
  readonly renamedTo?: string
  /** For `renamed`: 0–1, how sure the guess is. */
  readonly confidence?: number
  /** How many items of the batch showed the change, out of how many. */
  readonly items?: { readonly affected: number; readonly total: number }
}

/** A change in a payload's shape, found while checking it against its declared schema. */
export interface DetectedSchemaChange {
  readonly field: string
  readonly change: SchemaChangeKind
  readonly detail: SchemaChangeDetail
}
