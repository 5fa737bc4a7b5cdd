import { appendFileSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ExtractedBatch } from '../source.js'
import type { CsvCursor } from './csv-cursor.js'
import { parseCsvBatch, readCsvBatches, type CsvBatchMeta } from './csv-read.js'
import type { CsvRows } from './csv-rows.js'

function file(text: string | Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), 'coinpipe-read-')), 'f.csv')
  writeFileSync(path, text)
  return path
}

async function readAll(path: string, cursor?: CsvCursor, batchRows = 2): Promise<ExtractedBatch[]> {
  const batches: ExtractedBatch[] = []
  for await (const batch of readCsvBatches(path, cursor, { batchRows }, new AbortController().signal))
    batches.push(batch)
  return batches
}

const rowsOf = (batches: ExtractedBatch[]) => batches.flatMap((b) => (b.parsed as CsvRows).toArray())

describe('readCsvBatches', () => {
  it('strips a UTF-8 BOM so the first header column is recognised', async () => {
    const batches = await readAll(file('\uFEFFdate,symbol,price\n2024-01-01,BTC,1\n'))
    expect((batches[0]!.meta as unknown as CsvBatchMeta).columns).toEqual(['date', 'symbol', 'price'])
    expect(rowsOf(batches)).toHaveLength(1)
  })

  it('numbers rows by the line they start on, across blank lines, CRLF and quoted newlines', async () => {
    const text = 'date,symbol,price\r\n2024-01-01,BTC,1\r\n\r\n2024-01-02,"B\nTC",2\r\n2024-01-03,BTC,3'
    const rows = rowsOf(await readAll(file(text)))
    expect(rows.map((r) => r.line)).toEqual([2, 4, 6])
    expect(rows[2]!.raw).toBe('2024-01-03,BTC,3')
  })

  it('cuts batches of the requested size, each with the cursor after it', async () => {
    const path = file('date,symbol,price\n2024-01-01,A,1\n2024-01-01,B,2\n2024-01-01,C,3\n')
    const batches = await readAll(path)
    expect(batches.map((b) => b.rowCount)).toEqual([2, 1])
    expect(batches[0]!.cursorAfter).toMatchObject({ line: 3, byteOffset: 48 })
    expect(batches[1]!.cursorAfter).toMatchObject({ line: 4, byteOffset: 63 })
  })

  it('resumes after the cursor when the file only grew', async () => {
    const text = 'date,symbol,price\n2024-01-01,A,1\n2024-01-01,B,2\n'
    const path = file(text)
    const first = await readAll(path)
    writeFileSync(path, text + '2024-01-02,A,3\n')
    const next = await readAll(path, first.at(-1)!.cursorAfter as unknown as CsvCursor)
    expect(rowsOf(next).map((r) => [r.line, r.fields[1]])).toEqual([[4, 'A']])
  })

  it('yields nothing when the cursor is at the end of the same file', async () => {
    const path = file('date,symbol,price\n2024-01-01,A,1\n')
    const first = await readAll(path)
    expect(await readAll(path, first.at(-1)!.cursorAfter as unknown as CsvCursor)).toEqual([])
  })

  it('starts over when the bytes before the cursor changed', async () => {
    const path = file('date,symbol,price\n2024-01-01,A,1\n')
    const first = await readAll(path)
    writeFileSync(path, 'date,symbol,price\n2024-01-01,A,9\n2024-01-02,A,1\n')
    const next = await readAll(path, first.at(-1)!.cursorAfter as unknown as CsvCursor)
    expect(rowsOf(next).map((r) => r.fields[2])).toEqual(['9', '1'])
  })

  it('reads a stored batch back into exactly the rows the live import saw', async () => {
    const path = file('\uFEFFdate,symbol,price\n2024-01-01,A,"1,5"\n\n2024-01-01,B,2\n2024-01-01,C,3\n')
    for (const batch of await readAll(path)) {
      expect(parseCsvBatch(batch.payload, batch.meta as unknown as CsvBatchMeta).toArray()).toEqual(
        (batch.parsed as CsvRows).toArray(),
      )
    }
  })

  it('records the file stats with the batch that reaches its end, and trusts them next time', async () => {
    const path = file('date,symbol,price\n2024-01-01,A,1\n2024-01-01,B,2\n2024-01-01,C,3\n')
    const batches = await readAll(path)
    const last = batches.at(-1)!.cursorAfter as unknown as CsvCursor
    expect(last.fileStats).toMatchObject({ size: 63 })
    expect(batches[0]!.cursorAfter).not.toHaveProperty('fileStats')
    expect(await readAll(path, last)).toEqual([])
  })

  it('reads a file again that was rewritten to the same size, even with its old modification time', async () => {
    const path = file('date,symbol,price\n2024-01-01,A,1\n')
    const first = await readAll(path)
    const { mtime } = statSync(path)
    writeFileSync(path, 'date,symbol,price\n2024-01-01,A,9\n')
    utimesSync(path, mtime, mtime)
    const again = await readAll(path, first.at(-1)!.cursorAfter as unknown as CsvCursor)
    expect(rowsOf(again).map((r) => r.fields[2])).toEqual(['9'])
  })

  /** `rows` lines of prices, long enough that the reader has not read them all by its first batch. */
  const pricesCsv = (rows: number, symbol: string, decimals: number) =>
    'date,symbol,price\n' +
    Array.from({ length: rows }, (_, i) => `2024-01-01,${symbol}${i},${(i / 7).toFixed(decimals)}\n`).join('')

  it('stops with CSV_FILE_CHANGED when the file is rewritten in place while it is read', async () => {
    const path = file(pricesCsv(5000, 'A', 2))
    const reading = readCsvBatches(path, undefined, { batchRows: 100 }, new AbortController().signal)
    const first = await reading.next()
    expect(first.done).toBe(false)
    // Another version, its lines another length: read on from the same offset, rows would be torn.
    writeFileSync(path, pricesCsv(5000, 'OTHER', 5))
    const seen: ExtractedBatch[] = []
    const rest = (async () => {
      for (let next = await reading.next(); !next.done; next = await reading.next()) seen.push(next.value)
    })()
    await expect(rest).rejects.toMatchObject({ code: 'CSV_FILE_CHANGED' })
    // Whatever came before the check was read before the rewrite: rows of the first version only.
    for (const row of rowsOf(seen)) expect(row.fields[1]).toMatch(/^A\d+$/)
  })

  it('reads on when the file only grows while it is read', async () => {
    const path = file(pricesCsv(5000, 'A', 2))
    const reading = readCsvBatches(path, undefined, { batchRows: 100 }, new AbortController().signal)
    const batches = [(await reading.next()).value as ExtractedBatch]
    appendFileSync(path, '2024-01-02,A0,1\n')
    for await (const batch of reading) batches.push(batch)
    expect(rowsOf(batches).length).toBeGreaterThanOrEqual(5000)
    expect(
      rowsOf(batches)
        .slice(0, 5000)
        .map((r) => r.fields[1]),
    ).toEqual(Array.from({ length: 5000 }, (_, i) => `A${i}`))
  })

  it('does not take a last row a write in progress has cut short', async () => {
    const path = file(pricesCsv(5000, 'A', 2))
    const reading = readCsvBatches(path, undefined, { batchRows: 100 }, new AbortController().signal)
    const first = await reading.next()
    // A writer half-way through its next row: "A5000,1" now, "A5000,123" a moment later.
    appendFileSync(path, '2024-01-01,A5000,1')
    const seen: ExtractedBatch[] = [first.value as ExtractedBatch]
    const rest = (async () => {
      for (let next = await reading.next(); !next.done; next = await reading.next()) seen.push(next.value)
    })()
    await expect(rest).rejects.toMatchObject({ code: 'CSV_FILE_CHANGED' })
    expect(rowsOf(seen).map((r) => r.fields[1])).not.toContain('A5000')
  })

  it('fails with CSV_HEADER_INVALID when no column holds the price', async () => {
    await expect(readAll(file('date,symbol,volume\n2024-01-01,A,1\n'))).rejects.toMatchObject({
      code: 'CSV_HEADER_INVALID',
    })
  })

  it('fails with CSV_FILE_UNREADABLE for a missing file', async () => {
    await expect(readAll('/nonexistent/prices.csv')).rejects.toMatchObject({ code: 'CSV_FILE_UNREADABLE' })
  })
})
