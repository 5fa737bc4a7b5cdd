import { createSecretKey } from 'node:crypto'
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose'
import { API_SCOPES, type ApiScope, type JwtAuthConfig } from '../config.js'
import { AuthProviderUnavailableError, UnauthorizedError } from './auth-errors.js'
import type { Principal } from './principal.js'

/** What a JWKS may sign with; HS256 only ever with AUTH_JWT_SECRET, so a public key is never an HMAC secret. */
const ASYMMETRIC_ALGORITHMS = [
  ...['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  ...['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'],
]
/** How far `exp` and `nbf` may be off our clock. */
const CLOCK_TOLERANCE_S = 30
/** OpenID Connect Core §2: `sub` is at most 255 ASCII characters. */
const MAX_SUBJECT_LENGTH = 255

/** How the JWKS is cached and fetched; tests shorten these, `serve` keeps the defaults. */
export interface JwksOptions {
  /** Least time between two fetches that an unknown `kid` triggers (default 30 s). */
  readonly cooldownMs?: number
  /** How long a fetched key set is used before it is fetched again (default 10 min). */
  readonly cacheMaxAgeMs?: number
  /** Longest wait for the key set (default 3 s); a slower provider answers 503. */
  readonly timeoutMs?: number
}

/**
 * Verifies a compact JWT with jose and answers its principal (`jwt:<sub>`, the scopes of its `scope`
 * and `scp` claims that coinpipe knows). Rejects with `UnauthorizedError` saying why (expired, not
 * yet valid, issuer, audience, signature, algorithm…), or `AuthProviderUnavailableError` when the
 * JWKS cannot be fetched.
 */
export function createJwtVerifier(
  auth: JwtAuthConfig,
  jwks: JwksOptions = {},
): (token: string) => Promise<Principal> {
  const secret = auth.jwtSecret === undefined ? undefined : createSecretKey(Buffer.from(auth.jwtSecret))
  const remote =
    auth.jwksUrl === undefined
      ? undefined
      : createRemoteJWKSet(new URL(auth.jwksUrl), {
          cooldownDuration: jwks.cooldownMs ?? 30_000,
          cacheMaxAge: jwks.cacheMaxAgeMs ?? 600_000,
          timeoutDuration: jwks.timeoutMs ?? 3_000,
        })
  const algorithms = [...(secret ? ['HS256'] : []), ...(remote ? ASYMMETRIC_ALGORITHMS : [])]
  // jose checks the algorithm against `algorithms` before it asks for a key.
  const key: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === 'HS256' && secret) return secret
    if (!remote) throw new errors.JOSEAlgNotAllowed('no key for this algorithm')
    try {
      return await remote(header, token)
    } catch (error) {
      if (isTokenProblem(error)) throw error
      throw new AuthProviderUnavailableError(error)
    }
  }
  const options = {
    algorithms,
    issuer: auth.issuer,
    audience: auth.audience.length > 0 ? [...auth.audience] : undefined,
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ['exp', 'sub'],
  }

  return async (token) => {
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, key, options))
    } catch (error) {
      throw refusal(error, token, algorithms)
    }
    const sub = typeof payload.sub === 'string' ? payload.sub : ''
    if (sub === '' || sub.length > MAX_SUBJECT_LENGTH)
      throw new UnauthorizedError(`the token's "sub" claim must name a subject of 1 to 255 characters`, {
        invalidToken: true,
        reason: 'sub',
      })
    return { actor: `jwt:${sub}`, scopes: scopesOf(payload) }
  }
}

/** Scopes from `scope` (a space-separated string) and `scp` (such a string, or an array); unknown ones are ignored. */
function scopesOf(payload: JWTPayload): Set<ApiScope> {
  const listed = (claim: unknown): unknown[] =>
    typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : []
  const known = new Set<string>(API_SCOPES)
  return new Set(
    [...listed(payload.scope), ...listed(payload.scp)].filter(
      (scope): scope is ApiScope => typeof scope === 'string' && known.has(scope),
    ),
  )
}

/** What the key resolver may throw that is the token's fault, not the provider's. */
function isTokenProblem(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JOSEAlgNotAllowed
  )
}

/** A verification failure as the 401 (or 503) the client gets: why, in words, never the token. */
function refusal(error: unknown, token: string, algorithms: readonly string[]): Error {
  if (error instanceof AuthProviderUnavailableError) return error
  const invalid = (message: string, reason: string) =>
    new UnauthorizedError(message, { invalidToken: true, reason })
  if (error instanceof errors.JWTExpired) {
    const exp = error.payload.exp
    const at = typeof exp === 'number' ? ` at ${new Date(exp * 1000).toISOString()}` : ''
    return invalid(`the token expired${at}`, 'expired')
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalid(`the token has no "${error.claim}" claim`, 'missing_claim')
    switch (error.claim) {
      case 'nbf':
        return invalid('the token is not valid yet (its "nbf" is in the future)', 'not_yet_valid')
      case 'iss':
        return invalid('the token was issued by another issuer than the one this API trusts', 'issuer')
      case 'aud':
        return invalid('the token is meant for another audience than this API', 'audience')
      default:
        return invalid(`the token's "${error.claim}" claim is not valid`, 'claim')
    }
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalid("the token's signature does not verify", 'signature')
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return algorithmOf(token) === 'none'
      ? invalid('unsigned tokens (alg "none") are never accepted', 'unsigned')
      : invalid(
          `the token's signing algorithm is not accepted here; accepted: ${algorithms.join(', ')}`,
          'algorithm',
        )
  }
  if (error instanceof errors.JWKSNoMatchingKey)
    return invalid("no signing key of the identity provider matches the token's kid", 'unknown_key')
  if (error instanceof errors.JWKSMultipleMatchingKeys)
    return invalid(
      'several signing keys of the identity provider match the token; it needs a kid',
      'ambiguous_key',
    )
  if (error instanceof errors.JOSENotSupported)
    return invalid('the token uses an algorithm or key type that is not supported', 'unsupported')
  if (error instanceof errors.JOSEError)
    return invalid('the bearer value is not a well-formed JWT', 'malformed')
  return error instanceof Error ? error : new Error(String(error))
}

function algorithmOf(token: string): unknown {
  try {
    return decodeProtectedHeader(token).alg
  } catch {
    return undefined
  }
}
