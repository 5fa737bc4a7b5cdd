import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CsvRecordReader } from './csv-records.js'

type Event = ['record', string[], number] | ['malformed', number, number, string]

/** Feeds `text` to a reader in the given chunk sizes and returns what it reported. */
function read(text: string, chunkSizes: readonly number[] = [], delimiter = ','): Event[] {
  const bytes = Buffer.from(text, 'utf8')
  const events: Event[] = []
  const reader = new CsvRecordReader(
    delimiter,
    0,
    {
      record: (fields, end) => events.push(['record', fields, end]),
      malformed: (start, end, reason) => events.push(['malformed', start, end, reason]),
    },
    (from, to) => bytes.subarray(from, to),
  )
  let at = 0
  for (const size of chunkSizes) {
    if (at >= bytes.length) break
    reader.write(bytes.subarray(at, at + size))
    at += size
  }
  if (at < bytes.length) reader.write(bytes.subarray(at))
  reader.end()
  return events
}

const ends = (events: Event[]) => events.map((e) => (e[0] === 'record' ? e[2] : e[2]))

describe('CsvRecordReader', () => {
  it('hands over each record with the byte offset just past it', () => {
    expect(read('a,b\r\n"c, d" , e\n\nf')).toEqual([
      ['record', ['a', 'b'], 5],
      ['record', ['c, d', 'e'], 16],
      ['record', ['f'], 18],
    ])
  })

  it('reports a malformed record and reads on after it', () => {
    const events = read('a,b\n"x"y,z\nc,d\n')
    expect(events).toEqual([
      ['record', ['a', 'b'], 4],
      ['malformed', 4, 11, 'text follows a closing quote before the next delimiter'],
      ['record', ['c', 'd'], 15],
    ])
  })

  it('reports the same records however the bytes are split into chunks', () => {
    const alphabet = fc.constantFrom('a', '1', ' ', ',', ';', '"', '\n', '\r\n', 'é')
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 80 }).map((parts) => parts.join('')),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 40 }),
        (text, chunks) => {
          expect(read(text, chunks)).toEqual(read(text))
        },
      ),
      { numRuns: 500, seed: 20261206 },
    )
  })

  it('accounts for every byte: records and malformed spans follow each other to the end', () => {
    const alphabet = fc.constantFrom('a', ' ', ',', '"', '\n', 'x"', '" ')
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 60 }).map((parts) => parts.join('')),
        (text) => {
          const events = read(text, [3, 5, 2])
          let at = 0
          for (const event of events) {
            if (event[0] === 'malformed') expect(event[1]).toBe(at)
            const end = event[0] === 'record' ? event[2] : event[2]
            expect(end).toBeGreaterThan(at)
            at = end
          }
          // Whatever is left after the last record is blank lines csv-parse skips.
          expect(text.slice(at).trim()).toBe('')
          expect(ends(events)).toEqual([...ends(events)].sort((x, y) => x - y))
        },
      ),
      { numRuns: 500, seed: 7 },
    )
  })
})
