import { describe, expect, it } from 'vitest'
import { detectCsvDialect } from './csv-dialect.js'

const detect = (text: string, pinned = {}) => detectCsvDialect(Buffer.from(text), pinned, true)

describe('detectCsvDialect', () => {
  it('takes the delimiter under which the header names the known columns', () => {
    expect(detect('date,symbol,price\n')).toEqual({ delimiter: ',', decimalMark: '.' })
    expect(detect('date;symbol;price;name, with comma\n').delimiter).toBe(';')
    expect(detect('"date"\t"symbol"\t"price"\n').delimiter).toBe('\t')
    expect(detect('\uFEFFdate|symbol|price\n').delimiter).toBe('|')
  })

  it('falls back to a comma when no delimiter gives a usable header', () => {
    expect(detect('when;what\n').delimiter).toBe(',')
  })

  it('reads the decimal mark from numbers only one mark can write', () => {
    expect(detect('date\tsymbol\tprice\n2024-01-01\tBTC\t0,5\n').decimalMark).toBe(',')
    expect(detect('date\tsymbol\tprice\n2024-01-01\tBTC\t1.234.567\n').decimalMark).toBe(',')
    expect(detect('date;symbol;price\n2024-01-01;BTC;1,234.50\n').decimalMark).toBe('.')
    expect(detect('date,symbol,price\n2024-01-01,BTC,"0,25"\n').decimalMark).toBe(',')
  })

  it('defaults an undecided file to a comma when it is ;-delimited, else to a point', () => {
    expect(detect('date;symbol;price\n2024-01-01;BTC;1,234\n').decimalMark).toBe(',')
    expect(detect('date\tsymbol\tprice\n2024-01-01\tBTC\t1,234\n').decimalMark).toBe('.')
  })

  it('ignores a last line that may be cut short, unless the sample is the whole file', () => {
    const text = 'date\tsymbol\tprice\n2024-01-01\tBTC\t0,5'
    expect(detectCsvDialect(Buffer.from(text), {}, false).decimalMark).toBe('.')
    expect(detectCsvDialect(Buffer.from(text), {}, true).decimalMark).toBe(',')
  })

  it('keeps what configuration pins', () => {
    expect(detect('date,symbol,price\n2024-01-01,BTC,1\n', { delimiter: ';', decimalMark: ',' })).toEqual({
      delimiter: ';',
      decimalMark: ',',
    })
  })
})
