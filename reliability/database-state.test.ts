import { describe, expect, it } from 'vitest'
import { compareRecords } from './database-state.js'

describe('compareRecords', () => {
  it('counts what a trial lost and what it has beyond the reference, duplicates included', () => {
    expect(compareRecords(['a', 'b', 'c'], ['a', 'b', 'c'])).toEqual({ lost: 0, duplicated: 0 })
    expect(compareRecords(['a', 'b', 'c'], ['a', 'c'])).toEqual({ lost: 1, duplicated: 0 })
    expect(compareRecords(['a', 'b'], ['a', 'a', 'b'])).toEqual({ lost: 0, duplicated: 1 })
    // A wrong value is both: the right line is missing, a wrong one is there.
    expect(compareRecords(['a|1', 'b|2'], ['a|1', 'b|3'])).toEqual({ lost: 1, duplicated: 1 })
  })
})
