/** What stands in for a secret in a log line, an error message or a printed URL. */
export const REDACTED = '[redacted]'

/** Query parameters that carry a credential (CoinGecko's key params, and the usual names). */
const SECRET_PARAMS = [
  'x_cg_demo_api_key',
  'x_cg_pro_api_key',
  'api_key',
  'apikey',
  'key',
  'token',
  'access_token',
  'password',
  'secret',
]

// `scheme://user:password@` → the password, up to the last `@` before the path (a password may hold
// an unencoded `@`); stops at characters that end a URL inside JSON or text.
const URL_PASSWORD = /\b([a-z][a-z\d+.-]*:\/\/[^\s:@/"'\\]*:)[^\s/"'\\]*@/gi
// `?key=value` / `&key=value` → the value (a backslash is left alone, so escaped JSON stays valid).
const SECRET_PARAM = new RegExp(`([?&](?:${SECRET_PARAMS.join('|')})=)[^&#\\s"'\\\\]+`, 'gi')

/**
 * Blanks the password of every `scheme://user:password@host` and the value of every credential
 * query parameter (`api_key=`, `token=`, `x_cg_demo_api_key=` …) in `text`; everything else is kept.
 */
export function redactSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text
  return text.replace(URL_PASSWORD, `$1${REDACTED}@`).replace(SECRET_PARAM, `$1${REDACTED}`)
}

/**
 * A URL fit for a log line or a message: `postgres://app:[redacted]@db:5432/coinpipe`,
 * `https://host/path?x_cg_demo_api_key=[redacted]`. Accepts anything (a `sqlite:` path, a bare path).
 */
export function redactUrl(url: string): string {
  return redactSecrets(url)
}
