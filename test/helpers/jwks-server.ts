import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'

/** A signing key of the fake identity provider: the private half signs, the public half is in the JWKS. */
export interface SigningKey {
  readonly kid: string
  readonly alg: string
  readonly privateKey: CryptoKey
  readonly jwk: JWK
}

export async function aSigningKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg)
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

/** A local identity provider's JWKS endpoint whose key set a test can rotate, and count fetches of. */
export interface JwksServer {
  /** `http://127.0.0.1:<port>/jwks` */
  readonly url: string
  /** How many times the key set was fetched. */
  readonly fetches: number
  publish(keys: readonly SigningKey[]): void
  close(): Promise<void>
}

export async function startJwksServer(keys: readonly SigningKey[]): Promise<JwksServer> {
  let published = keys
  let fetches = 0
  const server = createServer((request, response) => {
    if (request.url !== '/jwks') {
      response.writeHead(404).end()
      return
    }
    fetches++
    response
      .writeHead(200, { 'content-type': 'application/jwk-set+json' })
      .end(JSON.stringify({ keys: published.map((k) => k.jwk) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/jwks`,
    get fetches() {
      return fetches
    },
    publish(next) {
      published = next
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A port nothing listens on: a JWKS URL of a provider that is down. */
export async function aClosedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * A compact JWT signed with `key` (its kid and alg in the header unless `header` says otherwise),
 * issued now and valid five minutes unless `claims` set `iat`/`exp`/`nbf` themselves.
 */
export function signToken(
  key: { privateKey: CryptoKey | Uint8Array; kid?: string; alg: string },
  claims: JWTPayload,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(key.kid === undefined ? {} : { kid: key.kid }) })
    .sign(key.privateKey)
}

/** An unsigned token (`alg: none`), built by hand: jose will not make one. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`
}
