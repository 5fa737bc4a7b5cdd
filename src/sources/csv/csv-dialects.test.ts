import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { RowRejection, SourceObservation } from '../source.js'
import { mapCsvHeader } from './csv-header.js'
import { normalizeCsvRows } from './csv-normalize.js'
import { readCsvBatches, type CsvBatchMeta } from './csv-read.js'
import { CsvRows } from './csv-rows.js'

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../../test/fixtures/csv/dialects/${name}`, import.meta.url))

/** Reads a file as the CSV source does and normalizes every batch. */
async function importFile(path: string, batchRows = 1) {
  const observations: SourceObservation[] = []
  const rejections: RowRejection[] = []
  const metas: CsvBatchMeta[] = []
  for await (const batch of readCsvBatches(path, undefined, { batchRows }, new AbortController().signal)) {
    const meta = batch.meta as unknown as CsvBatchMeta
    const result = normalizeCsvRows(batch.parsed as CsvRows, mapCsvHeader(meta.columns), meta.decimalMark)
    observations.push(...result.observations)
    rejections.push(...result.rejections)
    metas.push(meta)
  }
  return { observations, rejections, metas }
}

const values = (o: SourceObservation) => [
  o.observedAt.slice(0, 10),
  o.asset.sourceAssetId,
  o.priceUsd,
  o.volume24hUsd,
  o.marketCapUsd,
]

/** What every clean variant holds: two days of Arbitrum. */
const ARBITRUM = [
  ['2024-03-01', 'ARB:arbitrum', 0.021669, 307489894, 27915456.11],
  ['2024-03-02', 'ARB:arbitrum', 0.022001, 301000000, 28000000.5],
]

describe('CSV files as spreadsheets and exports write them', () => {
  it.each([
    ['quoted-then-spaces.csv', ',', '.'],
    ['spaces-around-quotes.csv', ',', '.'],
    ['all-quoted.csv', ',', '.'],
    ['semicolon-decimal-comma.csv', ';', ','],
    ['tab-decimal-comma.csv', '\t', ','],
    ['tab-decimal-dot.csv', '\t', '.'],
    ['crlf-no-final-newline.csv', ',', '.'],
    ['no-final-newline.csv', ',', '.'],
  ])('reads %s (delimiter %j, decimal mark %j) into the same values', async (name, delimiter, mark) => {
    const { observations, rejections, metas } = await importFile(fixture(name))
    expect(rejections).toEqual([])
    expect(observations.map(values)).toEqual(ARBITRUM)
    expect(observations.map((o) => o.line)).toEqual([2, 3])
    expect(metas[0]).toMatchObject({ delimiter, decimalMark: mark })
  })

  it('keeps each row text as the file has it, without its line break', async () => {
    const { observations } = await importFile(fixture('crlf-no-final-newline.csv'))
    expect(observations.map((o) => o.raw)).toEqual([
      '2024-03-01,ARB,Arbitrum,0.021669,307489894,27915456.11',
      '2024-03-02,ARB,Arbitrum,0.022001,301000000,"28,000,000.50"',
    ])
  })

  it('rejects a row with text after a closing quote, with its line, and loads the rows around it', async () => {
    const { observations, rejections } = await importFile(fixture('text-after-closing-quote.csv'), 10)
    expect(observations.map((o) => o.line)).toEqual([2, 4])
    expect(observations[1]!.priceUsd).toBe(0.023)
    expect(rejections).toEqual([
      {
        line: 3,
        reasonCode: 'CSV_ROW_MALFORMED',
        message: 'line 3: text follows a closing quote before the next delimiter',
        raw: '2024-03-02,ARB,"Arbitrum" One,0.022001,301000000,28000000.50',
      },
    ])
  })

  it('rejects the line of a quote that never closes, and reads on from the next line', async () => {
    const { observations, rejections } = await importFile(fixture('unclosed-quote.csv'), 10)
    expect(observations.map((o) => [o.line, o.priceUsd])).toEqual([
      [2, 0.021669],
      [4, 0.023],
    ])
    expect(rejections).toMatchObject([
      {
        line: 3,
        reasonCode: 'CSV_ROW_MALFORMED',
        message: 'line 3: a quoted field is never closed',
        raw: '2024-03-02,ARB,"Arbitrum,0.022001,301000000,28000000.50',
      },
    ])
  })

  it('still rejects a decimal comma in a file whose numbers use a decimal point', async () => {
    const path = fixture('tab-decimal-dot.csv')
    const { metas } = await importFile(path)
    expect(metas[0]!.decimalMark).toBe('.')
    const rows = [{ fields: ['2024-03-01', 'ARB', 'Arbitrum', '0,5', '1', '2'], line: 2, raw: '' }]
    const result = normalizeCsvRows(CsvRows.of(rows), mapCsvHeader(metas[0]!.columns), '.')
    expect(result.rejections).toMatchObject([{ reasonCode: 'CSV_PRICE_INVALID' }])
  })
})
