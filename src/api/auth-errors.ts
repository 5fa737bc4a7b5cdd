import type { ApiScope } from '../config.js'
import { AppError } from '../errors.js'

const REALM = 'Bearer realm="coinpipe"'

/** A refusal that tells the client how to authenticate: the `WWW-Authenticate` challenge (RFC 6750 §3). */
export abstract class AuthError extends AppError {
  abstract readonly challenge: string | undefined
}

/**
 * No credential, or one that is not valid. `invalidToken` when one was presented: the challenge then
 * says `error="invalid_token"`. The message says why, and never repeats the credential.
 */
export class UnauthorizedError extends AuthError {
  readonly code = 'UNAUTHORIZED'
  readonly challenge: string
  constructor(message: string, opts: { invalidToken?: boolean; reason?: string } = {}) {
    super(message, { context: opts.reason === undefined ? {} : { reason: opts.reason } })
    this.challenge = opts.invalidToken ? `${REALM}, error="invalid_token"` : REALM
  }
}

/** A valid credential that does not grant the scope the route needs. */
export class InsufficientScopeError extends AuthError {
  readonly code = 'INSUFFICIENT_SCOPE'
  readonly challenge: string
  constructor(readonly scope: ApiScope) {
    super(`this request needs the scope "${scope}", which the presented credential does not grant`, {
      context: { scope },
    })
    this.challenge = `${REALM}, error="insufficient_scope", scope="${scope}"`
  }
}

/** The identity provider's key set could not be fetched to check a token: worth asking again shortly. */
export class AuthProviderUnavailableError extends AuthError {
  readonly code = 'AUTH_PROVIDER_UNAVAILABLE'
  readonly challenge = undefined
  constructor(cause: unknown) {
    super(
      "the identity provider's signing keys (AUTH_JWKS_URL) could not be fetched to check this token; try again shortly",
      { cause },
    )
    this.retryable = true
  }
}
