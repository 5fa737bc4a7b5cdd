import { describe, it, expect } from 'vitest'

import { CsvHeaderError, mapCsvHeader, normalizeHeaderName, type CsvField } from './csv-header.js'

function headerError(columns: readonly string[]): CsvHeaderError {
  try {
    mapCsvHeader(columns)
  } catch (error) {
    if (error instanceof CsvHeaderError) return error
    throw error
  }
  throw new Error('expected mapCsvHeader to throw')
}

describe('normalizeHeaderName', () => {
  it.each([
    ['Price (USD)', 'price_usd'],
    ['Market Cap', 'market_cap'],
    ['24h Volume', '24h_volume'],
    ['\uFEFFdate', 'date'],
    ['\uFEFF  Date  ', 'date'],
    ['  SYMBOL\t', 'symbol'],
    ['volume-24h', 'volume_24h'],
    ['market.cap', 'market_cap'],
    ['close/usd', 'close_usd'],
    ['Price  --  (USD)', 'price_usd'],
    ['(price)', 'price'],
    ['_rank_', 'rank'],
    ['price_(usd)', 'price_usd'],
    ['snapped_at', 'snapped_at'],
    ['timeOpen', 'timeopen'],
    ['', ''],
    ['()', ''],
  ])('normalizes %j to %j', (raw, expected) => {
    expect(normalizeHeaderName(raw)).toBe(expected)
  })
})

describe('mapCsvHeader', () => {
  it('maps the sample file header and records its width', () => {
    const header = mapCsvHeader([
      '\uFEFFdate',
      'symbol',
      'name',
      'price_usd',
      'market_cap_usd',
      'volume_24h_usd',
    ])

    expect(header).toEqual({
      observed_at: 0,
      symbol: 1,
      name: 2,
      price_usd: 3,
      market_cap_usd: 4,
      volume_24h_usd: 5,
      width: 6,
    })
  })

  it('maps a CoinGecko-style export with extra columns it does not know', () => {
    const header = mapCsvHeader([
      'snapped_at',
      'Ticker',
      'Price (USD)',
      'Market Cap',
      'total_volume',
      'notes',
    ])

    expect(header).toEqual({
      observed_at: 0,
      symbol: 1,
      price_usd: 2,
      market_cap_usd: 3,
      volume_24h_usd: 4,
      width: 6,
    })
  })

  it.each<[CsvField, string[]]>([
    [
      'observed_at',
      ['date', 'timestamp', 'time', 'datetime', 'day', 'snapped_at', 'observed_at', 'time_open', 'timeopen'],
    ],
    ['symbol', ['symbol', 'ticker', 'asset_symbol', 'coin_symbol']],
    ['name', ['name', 'asset', 'asset_name', 'coin', 'coin_name']],
    ['price_usd', ['price', 'price_usd', 'close', 'close_usd', 'usd', 'last', 'last_price']],
    ['market_cap_usd', ['market_cap', 'marketcap', 'market_cap_usd', 'mcap', 'mkt_cap']],
    [
      'volume_24h_usd',
      ['volume', 'volume_24h', 'volume_24h_usd', 'total_volume', 'volume_usd', '24h_volume', 'vol'],
    ],
    [
      'change_24h_pct',
      ['change_24h', 'change_24h_pct', 'percent_change_24h', 'pct_change_24h', 'change_pct', '24h_change'],
    ],
    ['rank', ['rank', 'market_cap_rank', 'cmc_rank']],
    ['circulating_supply', ['circulating_supply', 'supply', 'circulating']],
    ['total_supply', ['total_supply']],
    ['max_supply', ['max_supply']],
  ])('recognises every alias of %s', (field, aliases) => {
    for (const alias of aliases) {
      const columns = ['a', 'b', alias]
      if (field !== 'observed_at') columns.push('Date')
      if (field !== 'symbol') columns.push('Symbol')
      if (field !== 'price_usd') columns.push('Price')

      expect(mapCsvHeader(columns)[field], alias).toBe(2)
    }
  })

  it('recognises aliases written with other case, spacing and punctuation', () => {
    const header = mapCsvHeader([
      'Time Open',
      'Coin Symbol',
      'Last Price',
      'Mkt. Cap',
      'Volume (24h)',
      '% Change',
      '24h Change',
      'CMC Rank',
      'Circulating Supply',
      'Total-Supply',
      'Max/Supply',
    ])

    expect(header).toEqual({
      observed_at: 0,
      symbol: 1,
      price_usd: 2,
      market_cap_usd: 3,
      volume_24h_usd: 4,
      change_24h_pct: 6,
      rank: 7,
      circulating_supply: 8,
      total_supply: 9,
      max_supply: 10,
      width: 11,
    })
  })

  it('keeps the first column when several columns mean the same field', () => {
    const header = mapCsvHeader(['timestamp', 'date', 'close', 'symbol', 'price', 'Close'])

    expect(header.observed_at).toBe(0)
    expect(header.price_usd).toBe(2)
    expect(header.symbol).toBe(3)
  })

  it('maps each column to at most one field', () => {
    const header = mapCsvHeader(['date', 'symbol', 'price', 'volume', 'supply'])
    const indexes = Object.entries(header)
      .filter(([key]) => key !== 'width')
      .map(([, index]) => index)

    expect(new Set(indexes).size).toBe(indexes.length)
  })

  it('leaves out optional fields that have no column', () => {
    const header = mapCsvHeader(['date', 'symbol', 'price'])

    expect(header).toEqual({ observed_at: 0, symbol: 1, price_usd: 2, width: 3 })
    expect(header.name).toBeUndefined()
    expect('market_cap_usd' in header).toBe(false)
  })

  it('counts unknown and empty columns in the width', () => {
    expect(mapCsvHeader(['', 'date', 'symbol', 'price', 'x', '']).width).toBe(6)
  })

  it('returns a frozen map', () => {
    expect(Object.isFrozen(mapCsvHeader(['date', 'symbol', 'price']))).toBe(true)
  })

  it.each<[string[], CsvField[]]>([
    [['symbol', 'price'], ['observed_at']],
    [['date', 'price'], ['symbol']],
    [['date', 'symbol', 'name', 'market_cap'], ['price_usd']],
    [
      ['name', 'volume'],
      ['observed_at', 'symbol', 'price_usd'],
    ],
    [[], ['observed_at', 'symbol', 'price_usd']],
  ])('names every missing required field of %j', (columns, missing) => {
    const error = headerError(columns)

    expect(error.missing).toEqual(missing)
    expect(error.columns).toEqual(columns)
    expect(error.code).toBe('CSV_HEADER_INVALID')
    expect(error.name).toBe('CsvHeaderError')
    expect(error).toBeInstanceOf(Error)
    for (const field of missing) expect(error.message).toContain(field)
  })

  it('does not take a near miss for a required field', () => {
    expect(headerError(['dates', 'symbols', 'price usd x']).missing).toEqual([
      'observed_at',
      'symbol',
      'price_usd',
    ])
  })

  it('copies the columns into the error rather than keeping the caller array', () => {
    const columns = ['date', 'symbol']
    const error = headerError(columns)
    columns.push('price')

    expect(error.columns).toEqual(['date', 'symbol'])
  })
})
