import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { SignJWT } from 'jose'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { API_SCOPES, type ApiScope, type Config } from '../config.js'
import { InsufficientScopeError, UnauthorizedError } from './auth-errors.js'
import { createAuthenticator } from './authenticator.js'

const verifications = vi.hoisted(() => ({ count: 0 }))

vi.mock('jose', async (importOriginal) => {
  const jose = await importOriginal<typeof import('jose')>()
  return {
    ...jose,
    jwtVerify: (...args: Parameters<typeof jose.jwtVerify>) => {
      verifications.count++
      return jose.jwtVerify(...args)
    },
  }
})

const KEY = 'k-0123456789abcdef'
const READER = 'k-reader-only-000001'
const SECRET = 'x'.repeat(32)

const auth = (overrides: Partial<Pick<Config, 'api' | 'auth'>> = {}) =>
  createAuthenticator({
    api: {
      keys: [
        { key: KEY, scopes: API_SCOPES },
        { key: READER, scopes: ['read'] },
      ],
      readKeysRequired: false,
    },
    auth: undefined,
    ...overrides,
  })
const withSecret = () =>
  auth({ auth: { jwksUrl: undefined, jwtSecret: SECRET, issuer: undefined, audience: [] } })

const aRequest = (headers: Record<string, string>) => ({ headers }) as unknown as FastifyRequest

/** Runs an onRequest hook the way Fastify does: resolves with what it refused, or undefined. */
function runHook(hook: onRequestHookHandler, request: FastifyRequest): Promise<unknown> {
  return new Promise((resolve) => {
    try {
      const call = hook as unknown as (
        req: FastifyRequest,
        reply: FastifyReply,
        done: (e?: unknown) => void,
      ) => void
      call(request, {} as FastifyReply, resolve)
    } catch (error) {
      resolve(error)
    }
  })
}

const tokenFor = (sub: string, scope: string) =>
  new SignJWT({ sub, scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET))

describe('createAuthenticator', () => {
  beforeEach(() => {
    verifications.count = 0
  })

  it('lets a key through for a scope it grants, and refuses one it does not, naming the scope', async () => {
    const check = (scope: ApiScope, key: string) =>
      runHook(auth().requireScope(scope), aRequest({ 'x-api-key': key }))
    expect(await check('runs:write', KEY)).toBeUndefined()
    expect(await check('read', READER)).toBeUndefined()
    const refused = await check('records:write', READER)
    expect(refused).toBeInstanceOf(InsufficientScopeError)
    expect((refused as InsufficientScopeError).challenge).toBe(
      'Bearer realm="coinpipe", error="insufficient_scope", scope="records:write"',
    )
  })

  it('says how to configure a credential when there is none', async () => {
    const none = auth({ api: { keys: [], readKeysRequired: false } })
    const refused = await runHook(none.requireScope('records:write'), aRequest({ 'x-api-key': KEY }))
    expect(refused).toBeInstanceOf(UnauthorizedError)
    expect(String(refused)).toMatch(/API_KEYS.*AUTH_JWKS_URL/)
  })

  it('refuses a request without a credential, naming both headers, and the JWT form when tokens are on', async () => {
    const refused = await runHook(auth().requireScope('read'), aRequest({ authorization: `Basic ${KEY}` }))
    expect(String(refused)).toMatch(/Authorization: Bearer <key>.*X-API-Key/)
    expect(String(refused)).not.toContain('JWT')
    expect((refused as UnauthorizedError).challenge).toBe('Bearer realm="coinpipe"')
    expect(String(await runHook(withSecret().requireScope('read'), aRequest({})))).toContain('Bearer <JWT>')
  })

  it('never puts a wrong key in its error', async () => {
    const wrong = 'k-wrong-but-secret-000'
    const refused = await runHook(auth().requireScope('read'), aRequest({ authorization: `Bearer ${wrong}` }))
    expect(refused).toBeInstanceOf(UnauthorizedError)
    expect((refused as UnauthorizedError).message).toBe('the API key is not valid')
    expect(JSON.stringify((refused as UnauthorizedError).context)).not.toContain(wrong)
  })

  it('names a valid key or token for the rate limiter, and nothing for a wrong or missing one', async () => {
    const keys = auth()
    expect(keys.identify(aRequest({ 'x-api-key': KEY }))).toMatch(/^key:[0-9a-f]{32}$/)
    expect(keys.identify(aRequest({ 'x-api-key': `${KEY}x` }))).toBeUndefined()
    expect(keys.identify(aRequest({}))).toBeUndefined()
    const tokens = withSecret()
    expect(
      await tokens.identify(aRequest({ authorization: `Bearer ${await tokenFor('alice', 'read')}` })),
    ).toBe('jwt:alice')
    const forged = `${(await tokenFor('alice', 'read')).slice(0, -4)}AAAA`
    expect(await tokens.identify(aRequest({ authorization: `Bearer ${forged}` }))).toBeUndefined()
  })

  it('verifies a token once per request: the rate limiter and the scope check share the result', async () => {
    const tokens = withSecret()
    const request = aRequest({ authorization: `Bearer ${await tokenFor('alice', 'records:write')}` })
    expect(await tokens.identify(request)).toBe('jwt:alice')
    expect(await runHook(tokens.requireScope('records:write'), request)).toBeUndefined()
    expect(tokens.actorOf(request)).toBe('jwt:alice')
    expect(await runHook(tokens.requireScope('runs:write'), request)).toBeInstanceOf(InsufficientScopeError)
    expect(verifications.count).toBe(1)
  })

  it('compares a bearer value that is not shaped like a JWT as an API key, even when tokens are on', async () => {
    const both = auth({ auth: { jwksUrl: undefined, jwtSecret: SECRET, issuer: undefined, audience: [] } })
    const request = aRequest({ authorization: `Bearer ${KEY}` })
    expect(await runHook(both.requireScope('assets:admin'), request)).toBeUndefined()
    expect(both.actorOf(request)).toMatch(/^key:/)
    expect(verifications.count).toBe(0)
  })
})
