import type { ApiScope } from '../config.js'

/**
 * Who a request is, once its credential is verified: the actor that attribution stores with what it
 * writes, and the scopes that say what it may do.
 */
export interface Principal {
  /**
   * `key:<32 hex>` for an API key (the first 16 bytes of its SHA-256, never the key), `jwt:<sub>` for
   * a token. Also the rate limiter's name for the client.
   */
  readonly actor: string
  readonly scopes: ReadonlySet<ApiScope>
}
