import type { RowLocator } from '../located-observation.js'

/** One CSV record with where it stood in the file. */
export interface CsvRow {
  readonly fields: readonly string[]
  /** 1-based line the record starts on. */
  readonly line: number
  readonly raw: string
  /** Why csv-parse could not read the record; its fields are then empty. */
  readonly malformed?: string
}

const NO_FIELDS: readonly string[] = Object.freeze([])
const LF = 10
const CR = 13

/**
 * Where each record of a batch stands in the batch's bytes: the line it starts on and its text,
 * found in one pass over the bytes the first time either is asked for (a rejection, a conflict).
 * Observations keep this, not the parsed fields, so the fields are garbage once normalized.
 */
export class CsvRowLocator implements RowLocator {
  /** Byte offset of each record's first character (after blank lines) and end (before its line break). */
  private bounds: Int32Array | undefined
  private lines: Int32Array | undefined

  constructor(
    private readonly bytes: Buffer,
    /** Offset just past each record in `bytes`, its line break included. */
    private readonly ends: readonly number[],
    /** Lines of the file before `bytes`. */
    private readonly lineBase: number,
    /** Lines given by hand (rows built in tests), instead of counted in `bytes`. */
    lines?: Int32Array,
  ) {
    this.lines = lines
  }

  get length(): number {
    return this.ends.length
  }

  lineOf(i: number): number {
    this.locate()
    return this.lines![i]!
  }

  /** The record's text as the file has it, without blank lines before or its line break after. */
  rawOf(i: number): string {
    this.locate()
    return this.bytes.toString('utf8', this.bounds![2 * i], this.bounds![2 * i + 1])
  }

  private locate(): void {
    if (this.bounds !== undefined) return
    const { bytes, ends } = this
    const bounds = new Int32Array(ends.length * 2)
    const lines = this.lines ?? new Int32Array(ends.length)
    let counted = 0
    let newlines = 0
    let start = 0
    for (let i = 0; i < ends.length; i++) {
      const end = ends[i]!
      // Skipped blank lines sit at the front of a record's bytes; its line break at the end.
      while (start < end && (bytes[start] === LF || bytes[start] === CR)) start++
      for (let at = bytes.indexOf(LF, counted); at !== -1 && at < start; at = bytes.indexOf(LF, at + 1))
        newlines++
      counted = start
      if (this.lines === undefined) lines[i] = this.lineBase + newlines + 1
      let last = end
      while (last > start && (bytes[last - 1] === LF || bytes[last - 1] === CR)) last--
      bounds[2 * i] = start
      bounds[2 * i + 1] = last
      start = end
    }
    this.bounds = bounds
    this.lines = lines
  }
}

/**
 * A batch's records as parsed: the fields of each (csv-parse's own arrays, no object per row), and
 * where each stands in the batch's bytes.
 */
export class CsvRows {
  constructor(
    readonly locator: CsvRowLocator,
    private readonly fields: readonly (readonly string[] | undefined)[],
    private readonly malformed: ReadonlyMap<number, string>,
  ) {}

  get length(): number {
    return this.locator.length
  }

  fieldsOf(i: number): readonly string[] {
    return this.fields[i] ?? NO_FIELDS
  }

  /** Why csv-parse could not read record `i`, when it could not. */
  malformedOf(i: number): string | undefined {
    return this.malformed.get(i)
  }

  lineOf(i: number): number {
    return this.locator.lineOf(i)
  }

  rawOf(i: number): string {
    return this.locator.rawOf(i)
  }

  toArray(): CsvRow[] {
    return Array.from({ length: this.length }, (_, i) => {
      const row = { fields: this.fieldsOf(i), line: this.lineOf(i), raw: this.rawOf(i) }
      const malformed = this.malformedOf(i)
      return malformed === undefined ? row : { ...row, malformed }
    })
  }

  /** Rows built by hand (tests, tools): their text is their raw, one per line. */
  static of(rows: readonly CsvRow[]): CsvRows {
    const texts = rows.map((r) => Buffer.from(`${r.raw}\n`))
    let end = 0
    const locator = new CsvRowLocator(
      Buffer.concat(texts),
      texts.map((t) => (end += t.length)),
      0,
      Int32Array.from(rows, (r) => r.line),
    )
    return new CsvRows(
      locator,
      rows.map((r) => (r.malformed === undefined ? r.fields : undefined)),
      new Map(rows.flatMap((r, i) => (r.malformed === undefined ? [] : [[i, r.malformed] as const]))),
    )
  }
}
