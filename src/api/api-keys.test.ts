import type { FastifyRequest } from 'fastify'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { API_SCOPES } from '../config.js'
import { createKeyTable, presentedCredential } from './api-keys.js'

const compared = vi.hoisted(() => [] as [Buffer, Buffer][])

vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>()
  return {
    ...crypto,
    timingSafeEqual: (a: Buffer, b: Buffer) => {
      compared.push([a, b])
      return crypto.timingSafeEqual(a, b)
    },
  }
})

const KEY = 'k-0123456789abcdef'
const OTHER_KEY = 'k-fedcba9876543210-second'

const withHeaders = (headers: Record<string, string>) => ({ headers }) as unknown as FastifyRequest

describe('createKeyTable', () => {
  const find = createKeyTable([
    { key: KEY, scopes: API_SCOPES },
    { key: OTHER_KEY, scopes: ['read', 'records:write'] },
  ])
  beforeEach(() => {
    compared.length = 0
  })

  it('finds each configured key with its scopes, named by a hash prefix and never by the key', () => {
    const first = find(KEY)
    expect(first?.actor).toMatch(/^key:[0-9a-f]{32}$/)
    expect(first?.actor).not.toContain(KEY)
    expect([...(first?.scopes ?? [])]).toEqual([...API_SCOPES])
    const second = find(OTHER_KEY)
    expect(second?.actor).not.toBe(first?.actor)
    expect([...(second?.scopes ?? [])]).toEqual(['read', 'records:write'])
  })

  it.each([
    ['of the same length', KEY.slice(0, -1) + 'X'],
    ['one character shorter', KEY.slice(0, -1)],
    ['one character longer', KEY + 'f'],
    ['much longer', KEY.repeat(50)],
    ['of one character', 'k'],
    ['differing only in case', KEY.toUpperCase()],
  ])('finds no key for a wrong one %s', (_what, key) => {
    expect(find(key)).toBeUndefined()
  })

  it('compares SHA-256 digests of equal length with timingSafeEqual, against every configured key', () => {
    for (const key of [KEY, 'short', KEY.repeat(10)]) {
      compared.length = 0
      find(key)
      expect(compared).toHaveLength(2)
      for (const [known, candidate] of compared) {
        expect(known).toHaveLength(32)
        expect(candidate).toHaveLength(32)
      }
    }
  })

  it('finds nothing when no key is configured', () => {
    expect(createKeyTable([])(KEY)).toBeUndefined()
  })
})

describe('presentedCredential', () => {
  it.each([
    ['Authorization: Bearer', { authorization: `Bearer ${KEY}` }, 'bearer'],
    ['a lower-case scheme and trailing space', { authorization: `bearer ${KEY} ` }, 'bearer'],
    ['X-API-Key', { 'x-api-key': KEY }, 'x-api-key'],
    ['X-API-Key beside a bearer value', { 'x-api-key': KEY, authorization: 'Bearer other' }, 'x-api-key'],
  ])('reads a key sent as %s', (_how, headers, via) => {
    expect(presentedCredential(withHeaders(headers))).toEqual({ value: KEY, via })
  })

  it('reads none from a request without one, another scheme or an empty header', () => {
    expect(presentedCredential(withHeaders({}))).toBeUndefined()
    expect(presentedCredential(withHeaders({ authorization: `Basic ${KEY}` }))).toBeUndefined()
    expect(presentedCredential(withHeaders({ 'x-api-key': '' }))).toBeUndefined()
  })
})
