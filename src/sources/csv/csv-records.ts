import { CsvError, Parser, type Options } from 'csv-parse'

/** Where the records a reader finds go; offsets are absolute byte offsets in the file or payload. */
export interface CsvRecordSink {
  /** A record's fields and the offset just past it (its line break included). */
  record(fields: string[], end: number): void
  /** Bytes [start, end) that csv-parse could not read as a record, and why. */
  malformed(start: number, end: number, reason: string): void
}

/** A market-data row is well under a kilobyte; a "record" past this is an unclosed quote eating the file. */
const MAX_RECORD_BYTES = 1 << 20

/**
 * csv-parse, fed synchronously: each record is handed over with the byte offset csv-parse has
 * consumed when it emits it. Reading `info.bytes` at that moment costs nothing, where the `info`
 * option copies the whole info object for every record.
 */
class OffsetParser extends Parser {
  onRecord: (fields: string[], end: number) => void = () => undefined

  override push(chunk: unknown): boolean {
    if (chunk !== null) this.onRecord(chunk as string[], this.info.bytes)
    return true
  }

  /** Parses `chunk` (or flushes the end, when undefined); returns csv-parse's error, if any. */
  feed(chunk: Buffer | undefined): Error | undefined {
    let failure: Error | undefined
    const done = (error?: Error | null) => {
      if (error) failure = error
    }
    if (chunk === undefined) this._flush(done)
    else this._transform(chunk, 'utf8', done)
    return failure
  }
}

/** How every CSV file is read: strict trims after closing quotes too (the lenient reading does not). */
export function csvParseOptions(delimiter: string, { strict = true, bom = false } = {}): Options {
  return {
    delimiter,
    bom,
    // Spaces around fields and around quotes, as spreadsheet exports write them. Trimming after a
    // closing quote is what makes csv-parse fail on text there (`"1"x`), so a record it cannot read
    // is read again without it only to find where that record ends.
    ltrim: true,
    rtrim: strict,
    relax_quotes: true,
    relax_column_count: true,
    // Any line break, even mixed in one file (csv-parse otherwise keeps to the first one it sees).
    record_delimiter: ['\r\n', '\n'],
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_BYTES,
  }
}

/**
 * Splits CSV bytes into records with csv-parse, recovering from a malformed record instead of giving
 * up on the rest: the record goes to the sink with csv-parse's reason and reading carries on after
 * it. Its end is where csv-parse ends it when reading it again without trimming after quotes;
 * failing that (a quote never closed), the end of its first line.
 */
export class CsvRecordReader {
  private parser!: OffsetParser
  private strict = true
  /** Absolute offset where the current parser started. */
  private parserStart = 0
  /** Absolute offset just past the last record (or malformed bytes) handed to the sink. */
  private recordEnd: number
  /** Absolute offset just past the bytes written so far. */
  private written: number
  private ending = false
  /** While a malformed record is being delimited: why it is malformed, and its end once known. */
  private failure: { reason: string; end?: number } | undefined

  constructor(
    private readonly delimiter: string,
    start: number,
    private readonly sink: CsvRecordSink,
    /** Bytes [from, to) already written: read again after a malformed record. */
    private readonly bytes: (from: number, to: number) => Buffer,
    private readonly bom = false,
  ) {
    this.recordEnd = start
    this.written = start
    this.restart(true)
  }

  /** `chunk` holds the bytes right after those written before. */
  write(chunk: Buffer): void {
    this.written += chunk.length
    this.run(chunk)
  }

  end(): void {
    this.ending = true
    this.run(undefined)
  }

  /**
   * Feeds the current parser (`undefined` flushes it). A strict parser that fails hands over to a
   * lenient one at the failed record; once that record's end is known, it is reported and a strict
   * parser reads on from there. Each new parser first reads the bytes its predecessor had left.
   */
  private run(first: Buffer | undefined): void {
    let queue: (Buffer | undefined)[] = [first]
    while (queue.length > 0) {
      const input = queue.shift()
      const error = this.parser.feed(input)
      if (this.strict) {
        if (error === undefined) continue
        this.failure = { reason: describeCsvError(error) }
      } else {
        const failure = this.failure!
        if (failure.end === undefined) {
          // Neither a record nor a failure yet: its end is in bytes still to come.
          if (error === undefined && input !== undefined) continue
          failure.end = this.lineEnd()
        }
        this.report(failure.end, failure.reason)
      }
      this.restart(!this.strict)
      queue = this.unread()
    }
  }

  private restart(strict: boolean): void {
    this.strict = strict
    this.parserStart = this.recordEnd
    this.parser = new OffsetParser(
      csvParseOptions(this.delimiter, { strict, bom: this.bom && this.recordEnd === 0 }),
    )
    this.parser.onRecord = strict ? this.onRecord : this.onLenientRecord
  }

  /** What a parser started at `recordEnd` has yet to read: the bytes written since, then the end if it came. */
  private unread(): (Buffer | undefined)[] {
    const pending = this.recordEnd < this.written ? [this.bytes(this.recordEnd, this.written)] : []
    return this.ending ? [...pending, undefined] : pending
  }

  private readonly onRecord = (fields: string[], end: number): void => {
    this.recordEnd = this.parserStart + end
    this.sink.record(fields, this.recordEnd)
  }

  /** The lenient parser's first record is the malformed one; what follows is read strictly again. */
  private readonly onLenientRecord = (_fields: string[], end: number): void => {
    if (this.failure !== undefined && this.failure.end === undefined)
      this.failure.end = this.parserStart + end
  }

  private lineEnd(): number {
    const newline = this.bytes(this.recordEnd, this.written).indexOf(10)
    return newline === -1 ? this.written : this.recordEnd + newline + 1
  }

  private report(end: number, reason: string): void {
    this.failure = undefined
    if (end <= this.recordEnd) return
    this.sink.malformed(this.recordEnd, end, reason)
    this.recordEnd = end
  }
}

/** csv-parse's reason in words a person can act on, without its line count (ours differs after a restart). */
function describeCsvError(error: Error): string {
  const code = error instanceof CsvError ? error.code : undefined
  if (code === 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE' || code === 'CSV_INVALID_CLOSING_QUOTE')
    return 'text follows a closing quote before the next delimiter'
  if (code === 'CSV_QUOTE_NOT_CLOSED') return 'a quoted field is never closed'
  if (code === 'CSV_MAX_RECORD_SIZE')
    return `a record runs past ${MAX_RECORD_BYTES} bytes (most likely a quote that is never closed)`
  return error.message.replace(/ at line \d+/, '')
}
