import { setFlagsFromString } from 'node:v8'

/**
 * How much V8 lets the old generation grow past what the last full collection kept, in percent.
 * V8 picks up to 300 % when collections are cheap, and a loader's live set is small (two batches)
 * while its garbage is large (every row's objects, promoted because a batch outlives a database
 * round trip): an import of any size then peaks at about 4 × the live set. At 25 % the peak stays
 * near the live set, measured at no loss of rows/s (bench:ingest). V8 reads the flag at each
 * collection, so setting it once the process runs takes effect.
 */
const HEAP_GROWING_PERCENT = 50

let limited = false

/** Keeps the heap near its live size for the rest of the process; idempotent. */
export function limitHeapGrowth(): void {
  if (limited) return
  limited = true
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}
