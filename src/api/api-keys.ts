import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { ApiKeyConfig } from '../config.js'
import type { Principal } from './principal.js'

/** A credential as a request presents it, and where: `X-API-Key` wins over `Authorization: Bearer`. */
export interface PresentedCredential {
  readonly value: string
  readonly via: 'x-api-key' | 'bearer'
}

/**
 * Finds the configured key a presented value is, in constant time: both sides are hashed to the same
 * length first, and every key is compared whatever matched. Answers the key's principal (its actor
 * is `key:` and a hash prefix, never the key), or `undefined` for a value that is no key.
 */
export function createKeyTable(keys: readonly ApiKeyConfig[]): (presented: string) => Principal | undefined {
  const known = keys.map(({ key, scopes }) => {
    const keyDigest = digest(key)
    return { keyDigest, principal: { actor: keyActor(keyDigest), scopes: new Set(scopes) } }
  })
  return (presented) => {
    const candidate = digest(presented)
    let found: Principal | undefined
    for (const { keyDigest, principal } of known) {
      const equal = timingSafeEqual(keyDigest, candidate)
      found = equal ? principal : found
    }
    return found
  }
}

/** The credential a request presents, or `undefined`; a header under another scheme presents none. */
export function presentedCredential(request: FastifyRequest): PresentedCredential | undefined {
  const header = request.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return { value: header, via: 'x-api-key' }
  const authorization = request.headers.authorization
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  return match?.[1] === undefined ? undefined : { value: match[1], via: 'bearer' }
}

/** `key:` and the first 16 bytes of the key's SHA-256 in hex: names a key in logs, rate limits and attribution. */
function keyActor(keyDigest: Buffer): string {
  return `key:${keyDigest.subarray(0, 16).toString('hex')}`
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest()
}
