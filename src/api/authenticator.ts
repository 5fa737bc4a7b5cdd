import type { FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import type { ApiScope, Config } from '../config.js'
import { JWT_SHAPE } from '../config-values.js'
import { createKeyTable, presentedCredential } from './api-keys.js'
import { InsufficientScopeError, UnauthorizedError } from './auth-errors.js'
import { createJwtVerifier, type JwksOptions } from './jwt-verifier.js'
import type { Principal } from './principal.js'
import { Problem, scopeSecurity } from './schemas.js'

/** Who a request is and what it may do: API keys and, when configured, JWT bearer tokens. */
export interface Authenticator {
  /**
   * The rate limiter's name for a client with a valid credential (its actor), else `undefined`;
   * never throws. A token is verified once per request: the hooks after it reuse the result.
   */
  readonly identify: (request: FastifyRequest) => string | undefined | Promise<string | undefined>
  /** An onRequest hook: 401 without a valid credential, 403 naming `scope` when it is not granted. */
  readonly requireScope: (scope: ApiScope) => onRequestHookHandler
  /** The actor of a request that passed `requireScope`: what attribution stores with a write. */
  readonly actorOf: (request: FastifyRequest) => string | undefined
}

/**
 * A bearer value shaped like a JWT is verified as one when tokens are configured; anything else
 * (and any `X-API-Key`) is looked up among the API keys, whose check costs what it always did.
 */
export function createAuthenticator(
  config: Pick<Config, 'api' | 'auth'>,
  options: { jwks?: JwksOptions } = {},
): Authenticator {
  const keyCount = config.api.keys.length
  const findKey = createKeyTable(config.api.keys)
  const verifyJwt = config.auth && createJwtVerifier(config.auth, options.jwks)
  const enabled = keyCount > 0 || verifyJwt !== undefined
  const verified = new WeakMap<FastifyRequest, Principal | Promise<Principal>>()

  const authenticate = (request: FastifyRequest): Principal | Promise<Principal> | undefined => {
    const known = verified.get(request)
    if (known) return known
    const presented = presentedCredential(request)
    if (!presented) return undefined
    let principal: Principal | Promise<Principal>
    if (verifyJwt && presented.via === 'bearer' && JWT_SHAPE.test(presented.value)) {
      principal = verifyJwt(presented.value).then((found) => {
        verified.set(request, found)
        return found
      })
    } else {
      const found = findKey(presented.value)
      if (!found)
        throw new UnauthorizedError(
          keyCount > 0
            ? 'the API key is not valid'
            : 'no API key is configured here: send a JWT as "Authorization: Bearer <JWT>"',
          { invalidToken: true, reason: 'key' },
        )
      principal = found
    }
    verified.set(request, principal)
    return principal
  }

  const missing = `this endpoint needs an API key in "Authorization: Bearer <key>" or "X-API-Key: <key>"${
    verifyJwt ? ', or a token in "Authorization: Bearer <JWT>"' : ''
  }`
  const refusal = (principal: Principal, scope: ApiScope) =>
    principal.scopes.has(scope) ? undefined : new InsufficientScopeError(scope)

  return {
    identify(request) {
      if (!enabled) return undefined
      let principal: Principal | Promise<Principal> | undefined
      try {
        principal = authenticate(request)
      } catch {
        // An invented key must not buy a fresh rate limit: it counts against the address.
        return undefined
      }
      if (principal === undefined) return undefined
      return principal instanceof Promise
        ? principal.then(
            (found) => found.actor,
            () => undefined,
          )
        : principal.actor
    },

    requireScope(scope) {
      return (request, _reply, done) => {
        if (!enabled)
          throw new UnauthorizedError(
            'writes are disabled because no credential is configured: set API_KEYS to one or more comma-separated keys of at least 16 characters (or AUTH_JWKS_URL / AUTH_JWT_SECRET for tokens) and restart',
          )
        const principal = authenticate(request)
        if (principal === undefined) throw new UnauthorizedError(missing)
        if (principal instanceof Promise) {
          principal.then((found) => done(refusal(found, scope)), done)
          return
        }
        const refused = refusal(principal, scope)
        if (refused) throw refused
        done()
      }
    },

    actorOf(request) {
      const principal = verified.get(request)
      return principal === undefined || principal instanceof Promise ? undefined : principal.actor
    },
  }
}

/**
 * An onRoute hook for API_READ_KEYS_REQUIRED=true: every GET under `/api/` and `/data` needs the
 * `read` scope, and its OpenAPI operation says so. Routes, not paths: a percent-encoded path that
 * the router matches to such a route is guarded too.
 */
export function guardReads(auth: Authenticator): (route: RouteOptions) => void {
  const requireRead = auth.requireScope('read')
  return (route) => {
    if (![route.method].flat().every((method) => method === 'GET' || method === 'HEAD')) return
    if (!route.url.startsWith('/api/') && route.url !== '/data') return
    const hooks = [route.onRequest ?? []].flat()
    if (hooks.includes(requireRead)) return
    route.onRequest = [requireRead, ...hooks]
    const schema = route.schema ?? {}
    route.schema = {
      ...schema,
      security: scopeSecurity('read'),
      ...(schema.response
        ? { response: { ...(schema.response as Record<string, unknown>), 401: Problem, 403: Problem } }
        : {}),
    }
  }
}
