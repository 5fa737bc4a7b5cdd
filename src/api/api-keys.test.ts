import type { FastifyRequest } from 'fastify'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createKeyChecker, createKeyIdentifier, UnauthorizedError } from './api-keys.js'

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

describe('createKeyChecker', () => {
  const check = createKeyChecker([KEY, OTHER_KEY])
  beforeEach(() => {
    compared.length = 0
  })

  it.each([
    ['Authorization: Bearer', { authorization: `Bearer ${KEY}` }],
    ['X-API-Key', { 'x-api-key': KEY }],
    ['the second key', { 'x-api-key': OTHER_KEY }],
  ])('accepts a configured key as %s', (_how, headers) => {
    expect(() => check(withHeaders(headers))).not.toThrow()
  })

  it.each([
    ['of the same length', KEY.slice(0, -1) + 'X'],
    ['one character shorter', KEY.slice(0, -1)],
    ['one character longer', KEY + 'f'],
    ['much longer', KEY.repeat(50)],
    ['of one character', 'k'],
    ['differing only in case', KEY.toUpperCase()],
  ])('refuses a wrong key %s', (_what, key) => {
    expect(() => check(withHeaders({ 'x-api-key': key }))).toThrow(UnauthorizedError)
    expect(() => check(withHeaders({ authorization: `Bearer ${key}` }))).toThrow('the API key is not valid')
  })

  it('compares SHA-256 digests of equal length with timingSafeEqual, against every configured key', () => {
    for (const key of [KEY, 'short', KEY.repeat(10)]) {
      compared.length = 0
      try {
        check(withHeaders({ 'x-api-key': key }))
      } catch {
        // a wrong key throws; what matters here is how it was compared
      }
      expect(compared).toHaveLength(2)
      for (const [known, candidate] of compared) {
        expect(known).toHaveLength(32)
        expect(candidate).toHaveLength(32)
      }
    }
  })

  it('refuses a request without a key, or with a key under another scheme, naming both headers', () => {
    expect(() => check(withHeaders({}))).toThrow(/Authorization: Bearer <key>.*X-API-Key/)
    expect(() => check(withHeaders({ authorization: `Basic ${KEY}` }))).toThrow(UnauthorizedError)
    expect(() => check(withHeaders({ 'x-api-key': '' }))).toThrow(UnauthorizedError)
  })

  it('says how to configure keys when there are none', () => {
    const none = createKeyChecker([])
    expect(() => none(withHeaders({ 'x-api-key': KEY }))).toThrow(/API_KEYS/)
  })

  it('never puts the presented key in its error', () => {
    const wrong = 'k-wrong-but-secret-000'
    try {
      check(withHeaders({ 'x-api-key': wrong }))
      expect.unreachable()
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(wrong)
      expect(JSON.stringify((error as UnauthorizedError).context)).not.toContain(wrong)
    }
  })
})

describe('createKeyIdentifier', () => {
  const identify = createKeyIdentifier([KEY, OTHER_KEY])

  it('names a valid key by a hash, the same from either header, never by the key', () => {
    const id = identify(withHeaders({ 'x-api-key': KEY }))
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(id).not.toContain(KEY)
    expect(identify(withHeaders({ authorization: `Bearer ${KEY}` }))).toBe(id)
    expect(identify(withHeaders({ 'x-api-key': OTHER_KEY }))).not.toBe(id)
  })

  it('names no wrong key and no missing one', () => {
    expect(identify(withHeaders({ 'x-api-key': KEY + 'x' }))).toBeUndefined()
    expect(identify(withHeaders({}))).toBeUndefined()
    expect(createKeyIdentifier([])(withHeaders({ 'x-api-key': KEY }))).toBeUndefined()
  })
})
