import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'

export class UnauthorizedError extends AppError {
  readonly code = 'UNAUTHORIZED'
}

/** Compares keys in constant time: both sides are hashed to the same length first. */
export function createKeyChecker(keys: readonly string[]): (request: FastifyRequest) => void {
  const digests = keys.map(digest)
  return (request) => {
    if (digests.length === 0) {
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
    const candidate = digest(presented)
    let match = false
    for (const known of digests) match = timingSafeEqual(known, candidate) || match
    if (!match) throw new UnauthorizedError('the API key is not valid')
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
