import { describe, it, expect } from 'vitest'

import { parseTimestamp } from './parse-timestamp.js'

describe('parseTimestamp', () => {
  it.each([
    ['2024-01-31', '2024-01-31T00:00:00.000Z'],
    ['2024/01/31', '2024-01-31T00:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
  ])('reads the date %s as midnight UTC', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected)
  })

  it.each([
    ['2024-01-31T13:45:00Z', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31t13:45:00z', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31T13:45:00.123Z', '2024-01-31T13:45:00.123Z'],
    ['2024-01-31T13:45:00.5Z', '2024-01-31T13:45:00.500Z'],
    ['2024-01-31T13:45:00.123456789Z', '2024-01-31T13:45:00.123Z'],
    ['2024-01-31T13:45Z', '2024-01-31T13:45:00.000Z'],
  ])('reads the UTC datetime %s', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected)
  })

  it.each([
    ['2024-01-31T13:45:00+02:00', '2024-01-31T11:45:00.000Z'],
    ['2024-01-31T13:45:00+0200', '2024-01-31T11:45:00.000Z'],
    ['2024-01-31T13:45:00+02', '2024-01-31T11:45:00.000Z'],
    ['2024-01-31T13:45:00-05:30', '2024-01-31T19:15:00.000Z'],
    ['2024-01-31T13:45:00.250+00:00', '2024-01-31T13:45:00.250Z'],
    ['2024-01-01T01:00:00+02:00', '2023-12-31T23:00:00.000Z'],
    ['2024-12-31 23:30:00-01:00', '2025-01-01T00:30:00.000Z'],
  ])('applies the offset in %s', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected)
  })

  it.each([
    ['2024-01-31T13:45:00', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31 13:45:00', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31 13:45', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31 13:45:00.75', '2024-01-31T13:45:00.750Z'],
    ['2024/01/31 13:45:00', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31 00:00:00', '2024-01-31T00:00:00.000Z'],
  ])('treats the zoneless datetime %s as UTC', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected)
  })

  it.each([
    ['1704067200', '2024-01-01T00:00:00.000Z'],
    ['1704067200.5', '2024-01-01T00:00:00.500Z'],
    ['1704067200.123', '2024-01-01T00:00:00.123Z'],
    ['1704067200.1239', '2024-01-01T00:00:00.123Z'],
    ['1704067200000', '2024-01-01T00:00:00.000Z'],
    ['1704067200123', '2024-01-01T00:00:00.123Z'],
  ])('reads the epoch string %s by its magnitude', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected)
  })

  it.each([
    [1704067200, '2024-01-01T00:00:00.000Z'],
    [1704067200.5, '2024-01-01T00:00:00.500Z'],
    [1704067200.123, '2024-01-01T00:00:00.123Z'],
    [1704067200000, '2024-01-01T00:00:00.000Z'],
    [1704067200123, '2024-01-01T00:00:00.123Z'],
    [100_000_000, '1973-03-03T09:46:40.000Z'],
  ])('reads the epoch number %s by its magnitude', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected)
  })

  it('treats 1e11 as the first millisecond value', () => {
    expect(parseTimestamp(1e11)).toBe('1973-03-03T09:46:40.000Z')
    expect(parseTimestamp(1e11 - 1)).toBeUndefined()
  })

  it.each([
    ['  2024-01-31  ', '2024-01-31T00:00:00.000Z'],
    ['\t2024-01-31T13:45:00Z\n', '2024-01-31T13:45:00.000Z'],
    [' 1704067200 ', '2024-01-01T00:00:00.000Z'],
  ])('ignores whitespace around %j', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected)
  })

  it.each([
    ['2024', 2024],
    ['20240131', 20240131],
    ['99999999', 99999999],
    ['0', 0],
  ])(
    'rejects %s as an epoch because a small number is more likely a year or a compact date',
    (text, number) => {
      expect(parseTimestamp(text)).toBeUndefined()
      expect(parseTimestamp(number)).toBeUndefined()
    },
  )

  it.each([
    '',
    '   ',
    'N/A',
    'null',
    'yesterday',
    'abc',
    '2024-01',
    '2024-1-31',
    '2024-01-31T',
    '31/01/2024',
  ])('rejects the non-time %j', (input) => {
    expect(parseTimestamp(input)).toBeUndefined()
  })

  it.each([
    '2024-02-30',
    '2023-02-29',
    '1900-02-29',
    '2024-04-31',
    '2024-13-01',
    '2024-00-10',
    '2024-01-00',
    '2024-01-32',
    '2024-01-31 25:00:00',
    '2024-01-31 24:00:00',
    '2024-01-31 13:60:00',
    '2024-01-31 13:45:60',
    '2024-01-31T13:45:00+25:00',
    '2024-01-31T13:45:00+02:60',
  ])('rejects the impossible date or time %s', (input) => {
    expect(parseTimestamp(input)).toBeUndefined()
  })

  it.each([
    '2024-01-31T13:45:00ZZ',
    '2024-01-31 13:45:00 UTC',
    '2024-01-31T13:45:00+2',
    '2024-01/31',
    '2024-01-31T13',
    '2024-01-31T13:45:00.',
    '+1704067200',
    '-1704067200',
    '1704067200.',
    '1e9',
    '0x65920080',
    '17040672000000',
  ])('rejects the malformed %s', (input) => {
    expect(parseTimestamp(input)).toBeUndefined()
  })

  it.each([
    '1969-12-31',
    '1969-12-31T23:59:59.999Z',
    '0099-01-01',
    '1000-01-01',
    '2101-01-01',
    '9999-12-31',
    '99999999999',
    '4200000000000',
  ])('rejects %s as outside 1970–2100', (input) => {
    expect(parseTimestamp(input)).toBeUndefined()
  })

  it('rejects an offset that moves the instant before 1970', () => {
    expect(parseTimestamp('1970-01-01T00:30:00+01:00')).toBeUndefined()
  })

  it.each([
    ['1970-01-01', '1970-01-01T00:00:00.000Z'],
    ['2100-12-31T23:59:59.999Z', '2100-12-31T23:59:59.999Z'],
  ])('accepts the boundary %s', (input, expected) => {
    expect(parseTimestamp(input)).toBe(expected)
  })

  it.each([NaN, Infinity, -Infinity, -1, -1704067200, 4_200_000_000_000, Number.MAX_VALUE])(
    'rejects the unusable number %s',
    (input) => {
      expect(parseTimestamp(input)).toBeUndefined()
    },
  )

  it('never throws on values that slip past the types', () => {
    const inputs: unknown[] = [null, undefined, {}, [], true, Symbol('x')]
    for (const input of inputs) {
      expect(() => parseTimestamp(input as string)).not.toThrow()
      expect(parseTimestamp(input as string)).toBeUndefined()
    }
  })
})
