import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../errors.js'
import { AuthError } from './auth-errors.js'

interface ProblemField {
  readonly field: string
  readonly in: string
  readonly message: string
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  INSUFFICIENT_SCOPE: 403,
  AUTH_PROVIDER_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  ASSET_NOT_FOUND: 404,
  RECORD_CONFLICT: 409,
  RUN_ALREADY_RUNNING: 409,
  RUN_ALREADY_QUEUED: 409,
  QUEUE_UNAVAILABLE: 503,
  RUN_NOT_FINISHED: 409,
  SOURCE_UNKNOWN: 400,
  DATABASE_ERROR: 503,
  RATE_LIMITED: 429,
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/** RFC 9457 problem details, the one shape of every error this API answers. */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  errors?: readonly ProblemField[],
): FastifyReply {
  return reply
    .status(status)
    .type('application/problem+json')
    .send({
      type: `urn:coinpipe:problem:${code.toLowerCase().replaceAll('_', '-')}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      ...(errors ? { errors } : {}),
      request_id: reply.request.id,
    })
}

/** The single error handler: known failures map to their status; anything else is a logged bug. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      // TypeBox (request bodies) names several properties in one error and echoes each extra one as `false`.
      const errors = error.validation
        .filter((v) => v.keyword !== 'boolean')
        .flatMap((v) =>
          fieldsOf(v.instancePath, v.params).map(([field, message]) => ({
            field,
            in: error.validationContext ?? 'request',
            message: message ?? withAllowed(v.message ?? 'is invalid', v.params),
          })),
        )
      const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ')
      return sendProblem(reply, 400, 'VALIDATION_FAILED', detail, errors)
    }
    if (error instanceof AppError) {
      const status = STATUS_BY_CODE[error.code] ?? (error.retryable ? 503 : 400)
      const field = error.context.field
      const errors =
        typeof field === 'string' ? [{ field, in: 'request', message: error.message }] : undefined
      if (status >= 500) request.log.warn({ err: error, errorCode: error.code }, 'request failed')
      if (error instanceof AuthError && error.challenge)
        void reply.header('www-authenticate', error.challenge)
      // An outage of the database or the queue: worth asking again in a few seconds.
      if (status === 503) void reply.header('retry-after', '5')
      return sendProblem(reply, status, error.code, error.message, errors)
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own client errors: body too large, bad JSON, wrong content type…
      const code = String(error.code)
      const field = code.endsWith('MEDIA_TYPE')
        ? 'content-type'
        : code.endsWith('CONTENT_LENGTH')
          ? 'content-length'
          : 'body'
      const at = field === 'body' ? 'body' : 'header'
      return sendProblem(reply, error.statusCode, error.code ?? 'BAD_REQUEST', error.message, [
        { field, in: at, message: error.message },
      ])
    }
    request.log.error({ err: error }, 'unexpected error')
    return sendProblem(
      reply,
      500,
      'INTERNAL',
      `an unexpected error occurred; quote request id ${request.id} when reporting it`,
    )
  })

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0] ?? ''}`),
  )
}

/**
 * Fastify's `frameworkErrors`: what the router refuses before any hook runs (a URL that is not
 * validly percent-encoded, a path parameter over `maxParamLength`) answers a problem too.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = typeof error.statusCode === 'number' && error.statusCode < 500 ? error.statusCode : 400
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'a path segment is too long'
      : 'the URL path is not validly percent-encoded'
  void reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff')
  void sendProblem(reply, status, error.code, message, [{ field: 'path', in: 'path', message }])
}

/** Each field an error is about, with a message of its own when one error names several fields. */
function fieldsOf(instancePath: string, params: Record<string, unknown>): [string, string?][] {
  const path = instancePath.replace(/^\//, '').replaceAll('/', '.')
  const at = (name: string) => (path === '' ? name : `${path}.${name}`)
  const extra = params.missingProperty ?? params.additionalProperty
  if (typeof extra === 'string') return [[at(extra)]]
  const names = (list: unknown): string[] =>
    Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : []
  const fields: [string, string?][] = [
    ...names(params.requiredProperties).map((n): [string, string] => [at(n), 'is required']),
    ...names(params.additionalProperties).map((n): [string, string] => [at(n), 'is not an allowed property']),
  ]
  return fields.length > 0 ? fields : [[path === '' ? '(root)' : path]]
}

function withAllowed(message: string, params: Record<string, unknown>): string {
  const allowed = params.allowedValues
  return Array.isArray(allowed) ? `${message}: ${allowed.map(String).join(', ')}` : message
}
