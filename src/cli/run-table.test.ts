import { describe, expect, it } from 'vitest'
import type { EtlRunRow } from '../db/schema.js'
import { renderRunTable } from './run-table.js'

const aRun = (overrides: Partial<EtlRunRow>): EtlRunRow =>
  ({
    id: 1,
    source: 'csv',
    status: 'succeeded',
    extracted: 0,
    loaded: 0,
    unchanged: 0,
    rejected: 0,
    batches: 0,
    durationMs: 0,
    errorCode: null,
    errorMessage: null,
    ...overrides,
  }) as EtlRunRow

describe('renderRunTable', () => {
  it('aligns one row per run, then says what went wrong and where the rejected rows are', () => {
    const table = renderRunTable([
      aRun({ id: 7, extracted: 12_000, loaded: 11_990, rejected: 10, batches: 3, durationMs: 1234 }),
      aRun({
        id: 8,
        source: 'coingecko',
        status: 'failed',
        durationMs: 20,
        errorCode: 'SOURCE_UNAVAILABLE',
        errorMessage: 'coingecko connection failed',
      }),
    ])
    expect(table.split('\n')).toEqual([
      'run  source     status       rows  loaded  unchanged  rejected  batches  duration  error',
      '  7  csv        succeeded  12,000  11,990          0        10        3     1.23s  -',
      '  8  coingecko  failed          0       0          0         0        0     0.02s  SOURCE_UNAVAILABLE',
      'csv: see the rejected rows with GET /api/v1/rejections?run_id=7',
      'coingecko: SOURCE_UNAVAILABLE: coingecko connection failed',
    ])
  })

  it('says so when there was nothing to run', () => {
    expect(renderRunTable([])).toBe('no sources to run')
  })
})
