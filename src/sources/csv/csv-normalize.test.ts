import { describe, expect, it } from 'vitest'
import { mapCsvHeader } from './csv-header.js'
import { normalizeCsvRow } from './csv-normalize.js'
import { CsvRows } from './csv-rows.js'

const header = mapCsvHeader(['date', 'symbol', 'name', 'price_usd', 'market_cap_usd', 'volume_24h_usd'])
const row = (fields: string[], line = 2) =>
  normalizeCsvRow(CsvRows.of([{ fields, line, raw: fields.join(',') }]), 0, header)
const ok = (fields: string[]) => {
  const result = row(fields)
  if ('reasonCode' in result) throw new Error(`rejected: ${result.message}`)
  return result
}

describe('normalizeCsvRow', () => {
  it('maps a clean row to an observation keyed by symbol and name', () => {
    expect(ok(['2024-01-31', 'BTC', 'Bitcoin', '42000.5', '820000000000', '31000000000'])).toMatchObject({
      asset: { sourceAssetId: 'BTC:bitcoin', symbol: 'BTC', name: 'Bitcoin' },
      observedAt: '2024-01-31T00:00:00.000Z',
      priceUsd: 42000.5,
      marketCapUsd: 820000000000,
      volume24hUsd: 31000000000,
      change24hPct: null,
      rank: null,
      line: 2,
    })
  })

  it('normalizes symbol case and stray whitespace, and collapses spaces in names', () => {
    expect(ok(['  2024-01-31 ', ' eth ', '  Ether   Classic ', ' 10 ', '', ''])).toMatchObject({
      asset: { symbol: 'ETH', name: 'Ether Classic', sourceAssetId: 'ETH:ether classic' },
      priceUsd: 10,
    })
  })

  it.each([
    ['2024-01-31', '2024-01-31T00:00:00.000Z'],
    ['2024-01-31T13:45:00Z', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31 13:45:00', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31T15:45:00+02:00', '2024-01-31T13:45:00.000Z'],
    ['1706708700', '2024-01-31T13:45:00.000Z'],
    ['1706708700000', '2024-01-31T13:45:00.000Z'],
  ])('reads the date %s as %s', (date, iso) => {
    expect(ok([date, 'BTC', '', '1', '', '']).observedAt).toBe(iso)
  })

  it.each([
    ['"$42,150.25" style', '$42,150.25', 42150.25],
    ['thousands separators', '1,234,567.5', 1234567.5],
    ['exponent notation', '2.31e-5', 0.0000231],
    ['surrounding whitespace', '  7.5 ', 7.5],
  ])('reads a price with %s', (_what, price, expected) => {
    expect(ok(['2024-01-31', 'SHIB', '', price, '', '']).priceUsd).toBeCloseTo(expected, 12)
  })

  it.each(['N/A', 'n/a', '', '  ', 'null', '-'])(
    'stores the optional value %j as null, never 0',
    (missing) => {
      const observation = ok(['2024-01-31', 'BTC', '', '1', missing, missing])
      expect(observation.marketCapUsd).toBeNull()
      expect(observation.volume24hUsd).toBeNull()
    },
  )

  it('uses the symbol alone as the source id when there is no name', () => {
    expect(ok(['2024-01-31', 'btc', '', '1', '', '']).asset).toEqual({
      sourceAssetId: 'BTC',
      symbol: 'BTC',
      name: null,
    })
  })

  it.each([
    ['too few columns', ['2024-01-31', 'BTC', '1'], 'CSV_COLUMN_COUNT'],
    ['too many columns', ['2024-01-31', 'BTC', 'Bitcoin', '$42', '150.25', '', ''], 'CSV_COLUMN_COUNT'],
    ['an unparseable date', ['31/31/2024', 'BTC', '', '1', '', ''], 'CSV_DATE_INVALID'],
    ['an impossible date', ['2024-02-30', 'BTC', '', '1', '', ''], 'CSV_DATE_INVALID'],
    ['an empty date', ['', 'BTC', '', '1', '', ''], 'CSV_DATE_INVALID'],
    ['an empty symbol', ['2024-01-31', '  ', '', '1', '', ''], 'CSV_SYMBOL_MISSING'],
    ['a missing price', ['2024-01-31', 'BTC', '', 'N/A', '', ''], 'CSV_PRICE_INVALID'],
    ['an empty price', ['2024-01-31', 'BTC', '', '', '', ''], 'CSV_PRICE_INVALID'],
    ['a garbage price', ['2024-01-31', 'BTC', '', '12abc', '', ''], 'CSV_PRICE_INVALID'],
    ['a negative price', ['2024-01-31', 'BTC', '', '-1', '', ''], 'CSV_PRICE_INVALID'],
    ['a garbage market cap', ['2024-01-31', 'BTC', '', '1', 'lots', ''], 'CSV_VALUE_INVALID'],
    ['a negative volume', ['2024-01-31', 'BTC', '', '1', '', '-5'], 'CSV_VALUE_INVALID'],
  ])('rejects a row with %s, naming its line and keeping its raw text', (_what, fields, code) => {
    const result = row(fields, 17)
    expect(result).toMatchObject({ reasonCode: code, line: 17, raw: fields.join(',') })
    expect((result as { message: string }).message).toContain('line 17')
  })

  it('keeps a negative 24h change, which is a real value', () => {
    const withChange = mapCsvHeader(['date', 'symbol', 'close', 'percent_change_24h'])
    const result = normalizeCsvRow(
      CsvRows.of([{ fields: ['2024-01-31', 'BTC', '1', '-3.5'], line: 2, raw: '' }]),
      0,
      withChange,
    )
    expect(result).toMatchObject({ priceUsd: 1, change24hPct: -3.5 })
  })
})
