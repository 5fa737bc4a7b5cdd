import { describe, expect, it } from 'vitest'
import { count, renderProgressLine, type ProgressState } from './progress-line.js'

const state = (overrides: Partial<ProgressState> = {}): ProgressState => ({
  source: 'csv',
  rows: 120_000,
  batches: 24,
  rejected: 3,
  elapsedMs: 3000,
  ...overrides,
})

describe('renderProgressLine', () => {
  it('shows the bar, the percentage, rows, rows/s, batches, rejections and the time', () => {
    expect(renderProgressLine(state({ fraction: 0.5 }), 100)).toBe(
      'csv [███████████████░░░░░░░░░░░░░░░]  50% 120,000 rows · 40,000/s · 24 batches · 3 rejected · 3.0s',
    )
  })

  it('fills the bar when the run is done', () => {
    expect(renderProgressLine(state({ fraction: 0.5, done: true }), 100)).toContain(
      `[${'█'.repeat(30)}] 100%`,
    )
  })

  it('keeps the fraction within the bar', () => {
    expect(renderProgressLine(state({ fraction: 1.7 }), 100)).toContain(`[${'█'.repeat(30)}] 100%`)
    expect(renderProgressLine(state({ fraction: -1 }), 100)).toContain(`[${'░'.repeat(30)}]   0%`)
  })

  it('sweeps a pulse with the clock when the size is unknown', () => {
    const at = (elapsedMs: number) => renderProgressLine(state({ rows: 0, elapsedMs }), 100).split(']')[0]
    expect(at(0)).toBe(`csv [████${' '.repeat(26)}`)
    expect(at(100)).toBe(`csv [ ████${' '.repeat(25)}`)
    expect(at(2600)).toBe(`csv [${' '.repeat(26)}████`)
    expect(at(2700)).toBe(`csv [${' '.repeat(25)}████ `)
  })

  it('says 0/s before any time has passed, and "1 batch" in the singular', () => {
    expect(renderProgressLine(state({ elapsedMs: 0, batches: 1 }), 100)).toContain('0/s · 1 batch · ')
  })

  it.each([40, 60, 80, 100, 200])('never wraps a terminal %i columns wide', (columns) => {
    for (const fraction of [undefined, 0.3]) {
      const line = renderProgressLine(state({ source: 'coinpaprika', rows: 12_345_678, fraction }), columns)
      expect(line.length).toBeLessThan(columns)
    }
  })

  it('narrows the bar, then drops the time, then the bar, as the terminal narrows', () => {
    expect(renderProgressLine(state({ fraction: 0.5 }), 80)).toMatch(/^csv \[█+░+\] {2}50% .* · 3\.0s$/)
    expect(renderProgressLine(state({ fraction: 0.5 }), 72)).toMatch(/^csv \[█+░+\] {2}50% .* rejected$/)
    expect(renderProgressLine(state({ fraction: 0.5 }), 60)).toBe(
      'csv 120,000 rows · 40,000/s · 24 batches · 3 rejected',
    )
  })
})

describe('count', () => {
  it('groups thousands the same whatever the locale', () => {
    expect([0, 999, 1000, 1_234_567].map(count)).toEqual(['0', '999', '1,000', '1,234,567'])
  })
})
