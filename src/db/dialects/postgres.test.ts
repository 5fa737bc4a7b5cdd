import { describe, expect, it } from 'vitest'
import { parsePgTimestamp } from './postgres.js'

describe('parsePgTimestamp', () => {
  it.each([
    ['2024-01-31 13:45:00+00', '2024-01-31T13:45:00.000Z'],
    ['2024-01-31 13:45:00.5+00', '2024-01-31T13:45:00.500Z'],
    ['2024-01-31 13:45:00.12+00', '2024-01-31T13:45:00.120Z'],
    ['2024-01-31 13:45:00.123456+00', '2024-01-31T13:45:00.123Z'],
    ['2024-01-31 13:45:00', '2024-01-31T13:45:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parsePgTimestamp(text)).toBe(iso)
  })

  it('agrees with Date for every millisecond fraction it shortens', () => {
    for (const fraction of ['1', '12', '123', '1234', '999999']) {
      const text = `2025-12-31 23:59:59.${fraction}+00`
      expect(parsePgTimestamp(text)).toBe(
        new Date(`2025-12-31T23:59:59.${fraction.slice(0, 3)}Z`).toISOString(),
      )
    }
  })
})
