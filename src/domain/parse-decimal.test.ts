import { describe, it, expect } from 'vitest'

import { parseDecimal } from './parse-decimal.js'

describe('parseDecimal', () => {
  it.each([
    ['42150.25', 42150.25],
    ['0', 0],
    ['7', 7],
    ['-0.5', -0.5],
    ['+3.25', 3.25],
    ['.5', 0.5],
    ['5.', 5],
    ['007', 7],
    ['0.00001234', 0.00001234],
  ])('reads the plain decimal %s', (input, expected) => {
    expect(parseDecimal(input)).toBe(expected)
  })

  it.each([
    ['1.5e-7', 1.5e-7],
    ['2E+3', 2000],
    ['2.31e-5', 2.31e-5],
    ['-4e2', -400],
    ['1e0', 1],
  ])('reads the exponent form %s', (input, expected) => {
    expect(parseDecimal(input)).toBe(expected)
  })

  it.each([
    ['  42.5  ', 42.5],
    ['\t-1.25\n', -1.25],
    [' 1,234 ', 1234],
  ])('ignores whitespace around %j', (input, expected) => {
    expect(parseDecimal(input)).toBe(expected)
  })

  it.each([
    ['$5', 5],
    ['$42150.25', 42150.25],
    ['-$5', -5],
    ['$-5', -5],
    ['+$5', 5],
    ['$+5', 5],
    ['$1,234.50', 1234.5],
  ])('reads the dollar amount %s', (input, expected) => {
    expect(parseDecimal(input)).toBe(expected)
  })

  it.each([
    ['1,234', 1234],
    ['1,234,567.89', 1234567.89],
    ['-12,345.5', -12345.5],
    ['999,999', 999999],
    ['1,000e3', 1_000_000],
  ])('reads the US thousands separators in %s', (input, expected) => {
    expect(parseDecimal(input)).toBe(expected)
  })

  it.each([0, 42.5, -1e-9, 1e21])('passes the finite number %s through', (input) => {
    expect(parseDecimal(input)).toBe(input)
  })

  it.each([
    '',
    '   ',
    'N/A',
    'n/a',
    'NA',
    'na',
    'null',
    'NULL',
    'None',
    'none',
    '-',
    ' - ',
    '—',
    'nan',
    'NaN',
    'NAN',
  ])('reads %j as missing', (input) => {
    expect(parseDecimal(input)).toBeNull()
  })

  it.each([null, undefined])('reads %s as missing', (input) => {
    expect(parseDecimal(input)).toBeNull()
  })

  it.each([
    '12,34',
    '1,2345',
    ',123',
    '1,,234',
    '1234,567',
    '1,234.5,6',
    '1.2.3',
    'abc',
    '12abc',
    '0x10',
    '0b11',
    '1_000',
    'Infinity',
    '-Infinity',
    '1e400',
    '1e',
    'e5',
    '.',
    '+',
    '$',
    '--5',
    '-$-5',
    '$$5',
    '5$',
    '$ 5',
    '5 6',
    '1,234 567',
    '12%',
    '€5',
  ])('rejects the unparseable %j', (input) => {
    expect(parseDecimal(input)).toBeUndefined()
  })

  it.each([NaN, Infinity, -Infinity])('rejects the non-finite number %s', (input) => {
    expect(parseDecimal(input)).toBeUndefined()
  })

  it('never throws on values that slip past the types', () => {
    const inputs: unknown[] = [{}, [], true, Symbol('x'), 10n]
    for (const input of inputs) {
      expect(() => parseDecimal(input as string)).not.toThrow()
      expect(parseDecimal(input as string)).toBeUndefined()
    }
  })
})

describe('parseDecimal with a decimal comma', () => {
  it.each([
    ['0,021669', 0.021669],
    ['27.915.456,11', 27915456.11],
    ['1 234,5', 1234.5],
    ['1\u00a0234,5', 1234.5],
    ['1\u202f234\u202f567', 1234567],
    ['-3,5', -3.5],
    ['$1.234,00', 1234],
    [',5', 0.5],
    ['1,5e-7', 1.5e-7],
    ['307489894', 307489894],
    ['  12,25  ', 12.25],
  ])('reads %j as %s', (input, expected) => {
    expect(parseDecimal(input, ',')).toBe(expected)
  })

  it.each(['1.5', '1,234.56', '1.23.4', '1.234.56', '12.3456', '1,2,3'])(
    'rejects %j, which a decimal comma cannot write',
    (input) => {
      expect(parseDecimal(input, ',')).toBeUndefined()
    },
  )

  it('reads the missing markers as null as well', () => {
    expect(parseDecimal('N/A', ',')).toBeNull()
    expect(parseDecimal('', ',')).toBeNull()
  })
})
