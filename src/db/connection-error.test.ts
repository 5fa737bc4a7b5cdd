import { describe, expect, it } from 'vitest'
import { SourceHttpError } from '../errors.js'
import { isDatabaseUnreachable } from './connection-error.js'

const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code })

describe('isDatabaseUnreachable', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a refused connection on every address', new AggregateError([withCode('ECONNREFUSED')], '')],
    ['an unknown host', withCode('ENOTFOUND')],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['a server shutting down', withCode('57P01')],
    ['a PostgreSQL connection exception', withCode('08006')],
    ['an SQLite file that cannot be opened', withCode('SQLITE_CANTOPEN')],
    ['an SQLite I/O error', withCode('SQLITE_IOERR_WRITE')],
    ['a closed SQLite handle', new TypeError('The database connection is not open')],
    [
      'an SQLite file another writer holds past the busy timeout',
      withCode('SQLITE_BUSY', 'database is locked'),
    ],
    ['a cause that is one of these', new Error('load failed', { cause: withCode('ECONNRESET') })],
  ])('says yes to %s', (_, error) => {
    expect(isDatabaseUnreachable(error)).toBe(true)
  })

  it.each([
    ['a syntax error', withCode('42601')],
    ['a unique violation', withCode('23505')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    [
      'an upstream that refused the connection',
      new SourceHttpError(
        'SOURCE_UNAVAILABLE',
        'coingecko connection failed',
        { source: 'coingecko' },
        withCode('ECONNREFUSED'),
      ),
    ],
    ['a string', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('says no to %s', (_, error) => {
    expect(isDatabaseUnreachable(error)).toBe(false)
  })
})
