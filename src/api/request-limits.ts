import type { FastifyInstance } from 'fastify'
import { sendProblem } from './error-handler.js'

/** The longest query string accepted, in characters; every documented parameter together fits in far less. */
export const MAX_QUERY_STRING_LENGTH = 4096

interface Located {
  readonly field: string
  readonly in: string
}

/**
 * Limits every route shares, whatever its schema says:
 * - a query string of at most `MAX_QUERY_STRING_LENGTH` characters (414);
 * - no NUL character and no lone UTF-16 surrogate in any path parameter, query value, body string
 *   or key (400): PostgreSQL cannot store a NUL, a lone surrogate is not text, and no field needs either;
 * - no infinite number (400): Ajv coerces `Infinity` and `1e400` to a number that passes `integer`
 *   and skips `maximum`, and PostgreSQL then refuses it.
 */
export function registerRequestLimits(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    const at = request.url.indexOf('?')
    const length = at === -1 ? 0 : request.url.length - at - 1
    if (length <= MAX_QUERY_STRING_LENGTH) return done()
    const message = `the query string has ${length} characters; at most ${MAX_QUERY_STRING_LENGTH} are accepted`
    void sendProblem(reply, 414, 'QUERY_TOO_LONG', message, [
      { field: 'querystring', in: 'querystring', message },
    ])
  })

  app.addHook('preValidation', (request, reply, done) => {
    const found = findIn(request, isUnfitText)
    if (!found) return done()
    const message = `${found.field} contains a NUL character (\\u0000) or a lone UTF-16 surrogate, which no text field accepts`
    void sendProblem(reply, 400, 'VALIDATION_FAILED', message, [{ ...found, message }])
  })

  // After validation: the values coerced from the query string are the ones to check.
  app.addHook('preHandler', (request, reply, done) => {
    const found = findIn(request, isInfinite)
    if (!found) return done()
    const message = `${found.field} must be a finite number`
    void sendProblem(reply, 400, 'VALIDATION_FAILED', message, [{ ...found, message }])
  })
}

/** Half of a surrogate pair (`"\\ud800"` in JSON): not text, so no database or identity key should hold it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
const isUnfitText = (value: unknown) =>
  typeof value === 'string' && (value.includes('\u0000') || LONE_SURROGATE.test(value))
const isInfinite = (value: unknown) => typeof value === 'number' && !Number.isFinite(value)

function findIn(
  request: { params: unknown; query: unknown; body: unknown },
  bad: (value: unknown) => boolean,
): Located | undefined {
  return (
    find(request.params, 'path', bad) ??
    find(request.query, 'querystring', bad) ??
    find(request.body, 'body', bad)
  )
}

/**
 * The first value (or key) that is `bad`, as a dotted field path with NULs escaped; iterative, so a
 * deeply nested body cannot overflow the stack.
 */
function find(root: unknown, where: string, bad: (value: unknown) => boolean): Located | undefined {
  const named = (path: string) => ({
    field: path === '' ? '(root)' : JSON.stringify(path).slice(1, -1),
    in: where,
  })
  const pending: [unknown, string][] = [[root, '']]
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, path] = next
    if (bad(value)) return named(path)
    if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        const field = path === '' ? key : `${path}.${key}`
        if (bad(key)) return named(field)
        pending.push([inner, field])
      }
    }
  }
  return undefined
}
