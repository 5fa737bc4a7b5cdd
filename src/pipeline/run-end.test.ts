import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.js'
import { recordRunEnd, runFailureCode } from './run-end.js'

const log = createLogger('silent')
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })

describe('recording how a run ended', () => {
  it('waits for a database that is away for a moment, rather than leave the run running', async () => {
    let attempts = 0
    const written = await recordRunEnd(log, () => {
      attempts++
      return attempts < 3 ? Promise.reject(refused()) : Promise.resolve('recorded')
    })
    expect(written).toBe('recorded')
    expect(attempts).toBe(3)
  })

  it('does not retry what is not the database being away', async () => {
    let attempts = 0
    const write = () => {
      attempts++
      return Promise.reject(new Error('a bug'))
    }
    await expect(recordRunEnd(log, write)).rejects.toThrow('a bug')
    expect(attempts).toBe(1)
  })

  it('codes a database fault DATABASE_ERROR, and anything else by its own code', () => {
    expect(runFailureCode(refused())).toBe('DATABASE_ERROR')
    expect(
      runFailureCode(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })),
    ).toBe('DATABASE_ERROR')
    expect(runFailureCode(new Error('a bug'))).toBe('INTERNAL')
  })
})
