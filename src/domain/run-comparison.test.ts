import { describe, expect, it } from 'vitest'
import {
  compareRuns,
  finishedRunFigures,
  RunNotFinishedError,
  type AnomalyCode,
  type RunFigures,
} from './run-comparison.js'

const THRESHOLDS = { recordSwingPct: 50, durationSwingPct: 100, rejectionJumpPts: 5 }

/** A clean run: 100 rows extracted, 100 records, 1 s. */
function aRun(overrides: Partial<RunFigures> = {}): RunFigures {
  return {
    status: 'succeeded',
    extracted: 100,
    loaded: 60,
    unchanged: 40,
    rejected: 0,
    durationMs: 1000,
    ...overrides,
  }
}

function codes(base: RunFigures, head: RunFigures, thresholds = THRESHOLDS): AnomalyCode[] {
  return compareRuns(base, head, thresholds).anomalies.map((a) => a.code)
}

describe('compareRuns', () => {
  it('flags nothing and reports zero deltas for two identical runs', () => {
    const result = compareRuns(aRun(), aRun(), THRESHOLDS)
    expect(result).toEqual({
      delta: {
        records: 0,
        recordsPct: 0,
        durationMs: 0,
        durationPct: 0,
        rejected: 0,
        rejectionRatePts: 0,
        extracted: 0,
      },
      anomalies: [],
    })
  })

  it('counts records as loaded plus unchanged and reports every delta as head minus base', () => {
    const base = aRun({ extracted: 200, loaded: 100, unchanged: 100, rejected: 10, durationMs: 2000 })
    const head = aRun({ extracted: 250, loaded: 10, unchanged: 220, rejected: 25, durationMs: 2500 })
    expect(compareRuns(base, head, THRESHOLDS).delta).toEqual({
      records: 30,
      recordsPct: 15,
      durationMs: 500,
      durationPct: 25,
      rejected: 15,
      rejectionRatePts: 5,
      extracted: 50,
    })
  })

  it('rounds percentages to two decimals', () => {
    const delta = compareRuns(
      aRun({ loaded: 3, unchanged: 0, durationMs: 3 }),
      aRun({ loaded: 4, unchanged: 0, durationMs: 4 }),
      THRESHOLDS,
    ).delta
    expect(delta.recordsPct).toBe(33.33)
    expect(delta.durationPct).toBe(33.33)
  })

  describe('RECORD_COUNT_SWING', () => {
    it.each([
      ['a rise exactly at the threshold', 150, []],
      ['a rise just beyond the threshold', 151, ['RECORD_COUNT_SWING']],
      ['a fall exactly at the threshold', 50, []],
      ['a fall just beyond the threshold', 49, ['RECORD_COUNT_SWING']],
    ])('%s (100 → %i records)', (_, headRecords, expected) => {
      const head = aRun({ loaded: headRecords, unchanged: 0, extracted: headRecords })
      expect(codes(aRun(), head)).toEqual(expected)
    })

    it('says which way and how far the records moved', () => {
      const [anomaly] = compareRuns(aRun(), aRun({ loaded: 20, unchanged: 0 }), THRESHOLDS).anomalies
      expect(anomaly).toEqual({
        code: 'RECORD_COUNT_SWING',
        message: expect.stringMatching(/fell by 80%/) as string,
      })
    })

    it('flags records going from 0 to some, with no percentage', () => {
      const base = aRun({ extracted: 0, loaded: 0, unchanged: 0 })
      const result = compareRuns(base, aRun(), THRESHOLDS)
      expect(result.delta.recordsPct).toBeNull()
      expect(result.delta.records).toBe(100)
      expect(result.anomalies.map((a) => a.code)).toEqual(['RECORD_COUNT_SWING'])
    })

    it('does not flag two runs that both left no records', () => {
      const idle = aRun({ extracted: 0, loaded: 0, unchanged: 0 })
      const result = compareRuns(idle, idle, THRESHOLDS)
      expect(result.delta.recordsPct).toBe(0)
      expect(result.anomalies).toEqual([])
    })
  })

  describe('DURATION_SWING', () => {
    it.each([
      ['a rise exactly at the threshold', 2000, []],
      ['a rise just beyond the threshold', 2001, ['DURATION_SWING']],
      ['a fall that no percentage can take beyond 100%', 0, []],
    ])('%s (1000 → %i ms)', (_, headMs, expected) => {
      expect(codes(aRun(), aRun({ durationMs: headMs }))).toEqual(expected)
    })

    it.each([
      ['a fall exactly at the threshold', 500, []],
      ['a fall just beyond the threshold', 499, ['DURATION_SWING']],
    ])('%s of 50 per cent (1000 → %i ms)', (_, headMs, expected) => {
      expect(codes(aRun(), aRun({ durationMs: headMs }), { ...THRESHOLDS, durationSwingPct: 50 })).toEqual(
        expected,
      )
    })

    it('does not judge a base that took 0 ms, and gives no percentage', () => {
      const result = compareRuns(aRun({ durationMs: 0 }), aRun({ durationMs: 5000 }), THRESHOLDS)
      expect(result.delta).toMatchObject({ durationMs: 5000, durationPct: null })
      expect(result.anomalies).toEqual([])
    })

    it('reports 0% between two runs of 0 ms', () => {
      const result = compareRuns(aRun({ durationMs: 0 }), aRun({ durationMs: 0 }), THRESHOLDS)
      expect(result.delta).toMatchObject({ durationMs: 0, durationPct: 0 })
    })

    it('leaves the duration delta null when a duration is unknown', () => {
      const result = compareRuns(aRun({ durationMs: null }), aRun({ durationMs: 99_999 }), THRESHOLDS)
      expect(result.delta).toMatchObject({ durationMs: null, durationPct: null })
      expect(result.anomalies).toEqual([])
    })
  })

  describe('STATUS_REGRESSION', () => {
    it.each([
      ['succeeded', 'partial', true],
      ['succeeded', 'failed', true],
      ['partial', 'failed', true],
      ['partial', 'partial', false],
      ['failed', 'partial', false],
      ['failed', 'succeeded', false],
      ['partial', 'succeeded', false],
      ['failed', 'failed', false],
    ] as const)('from %s to %s: %s', (from, to, flagged) => {
      const found = codes(aRun({ status: from }), aRun({ status: to })).includes('STATUS_REGRESSION')
      expect(found).toBe(flagged)
    })
  })

  describe('ZERO_RECORDS', () => {
    it('flags a head with no records when base had some', () => {
      const head = aRun({ extracted: 0, loaded: 0, unchanged: 0 })
      expect(codes(aRun(), head)).toEqual(['RECORD_COUNT_SWING', 'ZERO_RECORDS'])
    })

    it('flags a head that extracted rows but kept none, even after a base with none', () => {
      const base = aRun({ extracted: 0, loaded: 0, unchanged: 0 })
      const head = aRun({ extracted: 10, loaded: 0, unchanged: 0, rejected: 3 })
      expect(codes(base, head, { ...THRESHOLDS, rejectionJumpPts: 100 })).toEqual(['ZERO_RECORDS'])
    })

    it('does not flag two idle runs that extracted nothing', () => {
      const idle = aRun({ extracted: 0, loaded: 0, unchanged: 0 })
      expect(codes(idle, idle)).toEqual([])
    })

    it('does not flag a head with a single record', () => {
      const head = aRun({ loaded: 1, unchanged: 0 })
      expect(codes(aRun(), head, { ...THRESHOLDS, recordSwingPct: 100 })).toEqual([])
    })
  })

  describe('REJECTION_RATE_JUMP', () => {
    it.each([
      ['a rise exactly at the threshold', 6, []],
      ['a rise just beyond the threshold', 7, ['REJECTION_RATE_JUMP']],
      ['a fall of any size', 0, []],
    ])('%s (1 → %i rejected of 100)', (_, headRejected, expected) => {
      const base = aRun({ rejected: 1 })
      const head = aRun({ rejected: headRejected })
      expect(codes(base, head)).toEqual(expected)
    })

    it('reads a run that extracted nothing as 0% rejected', () => {
      const base = aRun({ extracted: 0, loaded: 100, unchanged: 0, rejected: 0 })
      const head = aRun({ extracted: 100, rejected: 10 })
      const result = compareRuns(base, head, THRESHOLDS)
      expect(result.delta.rejectionRatePts).toBe(10)
      expect(result.anomalies.map((a) => a.code)).toEqual(['REJECTION_RATE_JUMP'])
    })

    it('reports a negative change when head extracted nothing after a base with rejections', () => {
      const base = aRun({ rejected: 20 })
      const head = aRun({ extracted: 0, rejected: 0 })
      const result = compareRuns(base, head, THRESHOLDS)
      expect(result.delta.rejectionRatePts).toBe(-20)
      expect(result.anomalies).toEqual([])
    })
  })

  it('reports every anomaly at once, in a fixed order', () => {
    const base = aRun({ extracted: 100, loaded: 100, unchanged: 0, rejected: 0, durationMs: 100 })
    const head = aRun({
      status: 'failed',
      extracted: 100,
      loaded: 0,
      unchanged: 0,
      rejected: 50,
      durationMs: 1000,
    })
    expect(codes(base, head)).toEqual([
      'RECORD_COUNT_SWING',
      'DURATION_SWING',
      'STATUS_REGRESSION',
      'ZERO_RECORDS',
      'REJECTION_RATE_JUMP',
    ])
    for (const anomaly of compareRuns(base, head, THRESHOLDS).anomalies) expect(anomaly.message).not.toBe('')
  })
})

describe('finishedRunFigures', () => {
  it('takes the figures of a finished run', () => {
    expect(finishedRunFigures({ id: 1, ...aRun({ status: 'partial' }) })).toEqual(aRun({ status: 'partial' }))
  })

  it('refuses a run that is still going, naming it', () => {
    const running = { ...aRun(), id: 42, status: 'running' as const }
    expect(() => finishedRunFigures(running)).toThrow(RunNotFinishedError)
    expect(() => finishedRunFigures(running)).toThrow(/run 42 is still running/)
  })
})
