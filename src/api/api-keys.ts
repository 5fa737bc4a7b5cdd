import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'

export class UnauthorizedError extends AppError {
  readonly code = 'UNAUTHORIZED'
}

/** Compares keys in constant time: both sides are hashed to the same length first. */
export function createKeyChecker(keys: readonly string[]): (request: FastifyRequest) => void {
  const matches = keyMatcher(keys)
  return (request) => {
    if (keys.length === 0) {
      throw new UnauthorizedError(
        'writes are disabled because no API key is configured: set API_KEYS to one or more comma-separated keys of at least 16 characters and restart',
      )
    }
    const presented = presentedKey(request)
    if (presented === undefined) {
      throw new UnauthorizedError(
        'this endpoint needs an API key in "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      )
    }
    if (!matches(digest(presented))) throw new UnauthorizedError('the API key is not valid')
  }
}

/**
 * A stable name for the valid API key a request presents (a hash, never the key itself), or
 * `undefined` when it presents none or a wrong one: an invented key must not buy a fresh rate limit.
 */
export function createKeyIdentifier(
  keys: readonly string[],
): (request: FastifyRequest) => string | undefined {
  const matches = keyMatcher(keys)
  return (request) => {
    const presented = keys.length === 0 ? undefined : presentedKey(request)
    if (presented === undefined) return undefined
    const candidate = digest(presented)
    return matches(candidate) ? candidate.subarray(0, 16).toString('hex') : undefined
  }
}

/** Whether a key digest is one of `keys`, looking at every key whatever matched, each in constant time. */
function keyMatcher(keys: readonly string[]): (candidate: Buffer) => boolean {
  const digests = keys.map(digest)
  return (candidate) => {
    let match = false
    for (const known of digests) match = timingSafeEqual(known, candidate) || match
    return match
  }
}

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  const authorization = request.headers.authorization
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  return match?.[1]
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest()
}
