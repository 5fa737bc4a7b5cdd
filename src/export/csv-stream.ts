import { Readable } from 'node:stream'
import { stringify, type Options } from 'csv-stringify/sync'

/** One CSV column: its header (the JSON answer's field name) and the row property it prints. */
export interface CsvColumn<Row> {
  readonly header: string
  readonly key: keyof Row & string
}

/** Columns whose header is the row's own property name (rows already shaped as the JSON answer's items). */
export function sameNamedColumns<Row>(keys: readonly (keyof Row & string)[]): CsvColumn<Row>[] {
  return keys.map((key) => ({ header: key, key }))
}

/**
 * Printed as JSON prints them, so a CSV parsed back equals the JSON answer: a number by its
 * shortest round-trip text (`String`, as `JSON.stringify`), a non-finite one (which JSON answers
 * as null) and null itself as an empty field, an array or object as its JSON text.
 */
const CAST: Options['cast'] = {
  number: (value) => (Number.isFinite(value) ? String(value) : ''),
  boolean: (value) => (value ? 'true' : 'false'),
  object: (value) => JSON.stringify(value),
}

/**
 * RFC 4180 CSV of `chunks` (rows as the database hands them over, a chunk at a time) as a Readable:
 * a header row, then each chunk stringified in one piece. The stream asks for the next chunk only
 * when the consumer has taken the last one, so memory holds about one chunk whatever the total;
 * destroying the stream (a client gone) returns the iterator, which stops reading. The header is
 * sent with the first chunk, so a failure of the first read still fails before any byte is out.
 */
export function csvStream<Row>(
  columns: readonly CsvColumn<Row>[],
  chunks: AsyncIterable<readonly Row[]> | Iterable<readonly Row[]>,
): Readable {
  const options: Options = {
    columns: columns.map((c) => ({ key: c.key, header: c.header })),
    cast: CAST,
    eof: true,
    record_delimiter: 'unix',
  }
  const header = stringify([columns.map((c) => c.header)], { eof: true, record_delimiter: 'unix' })
  async function* text(): AsyncGenerator<string> {
    let first = true
    for await (const chunk of chunks) {
      const body = chunk.length === 0 ? '' : stringify(chunk as unknown as Record<string, unknown>[], options)
      yield first ? header + body : body
      first = false
    }
    if (first) yield header
  }
  // One chunk buffered ahead at most: a million rows never sit in memory waiting for a slow client.
  return Readable.from(text(), { objectMode: false, highWaterMark: 1 })
}
