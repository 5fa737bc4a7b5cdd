import cors from '@fastify/cors'
import rateLimit from '@fastify/rate-limit'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'
import type { Redis } from 'ioredis'
import type { Config, TrustProxy } from '../config.js'
import { AppError } from '../errors.js'
import { registerRequestLimits } from './request-limits.js'

/** Routes monitoring polls: never throttled, so a busy API still reports its health. */
const RATE_LIMIT_EXEMPT: ReadonlySet<string> = new Set(['/health', '/metrics'])

/** Too many requests from one key or address in the current window. */
export class RateLimitedError extends AppError {
  readonly code = 'RATE_LIMITED'
  constructor(retryAfterSeconds: number, max: number) {
    super(`more than ${max} requests in the current window; retry in ${retryAfterSeconds} s`, {
      context: { retryAfterSeconds, max },
    })
    this.retryable = true
  }
}

/**
 * The Content-Security-Policy of every response: only this origin's scripts (plus the inline ones
 * whose `'sha256-…'` hashes a page passes), no framing, no plugins. No `upgrade-insecure-requests`:
 * coinpipe often serves plain HTTP on a LAN, where upgraded fetches would fail.
 */
export function contentSecurityPolicy(scriptHashes: readonly string[] = []) {
  return {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      scriptSrc: ["'self'", ...scriptHashes],
      scriptSrcAttr: ["'none'"],
      // Swagger UI sets style attributes; styles cannot run code.
      styleSrc: ["'self'", "'unsafe-inline'"],
    },
  }
}

/**
 * The headers helmet would set with `options`, computed once by running its middleware against a
 * recording response. A route that needs another policy overrides a header in its handler.
 */
export function securityHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => undefined)
  return Object.freeze(headers)
}

const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: contentSecurityPolicy(),
  // Browsers ignore HSTS over plain HTTP; behind TLS it covers this host only.
  strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false },
  xFrameOptions: { action: 'deny' },
}

/** Every response's security headers (helmet's, with coinpipe's content security policy). */
export const SECURITY_HEADERS = securityHeaders(HELMET_OPTIONS)

export interface SecurityOptions {
  /**
   * Where the inbound rate limit counts, so every API replica shares one window per client;
   * without it, each process counts in memory. A Redis that fails lets requests through uncounted.
   */
  readonly redis?: Redis
  /** `config.queue.prefix`: the counters are `<prefix>:api-rate-limit:<client>`. */
  readonly prefix?: string
}

/**
 * Security headers (helmet), CORS when configured, the inbound rate limit, then the request limits,
 * as hooks in that order: even a refused request gets the headers, and a request
 * is counted before any key check, so guessing keys is throttled too. Register before any route.
 */
export async function registerSecurity(
  app: FastifyInstance,
  http: Config['http'],
  /** The client's name when it presents a valid credential (`key:…`, `jwt:…`); its address otherwise. */
  identifyClient: (request: FastifyRequest) => string | undefined | Promise<string | undefined>,
  { redis, prefix = 'coinpipe' }: SecurityOptions = {},
): Promise<void> {
  // The headers never vary, so they are computed once: @fastify/helmet rebuilds helmet's middleware
  // on every request, which cost about a tenth of the CPU of a records page in bench:api.
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(SECURITY_HEADERS)
    done()
  })

  if (http.corsOrigins) {
    await app.register(cors, {
      origin: http.corsOrigins[0] === '*' ? '*' : [...http.corsOrigins],
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
      exposedHeaders: [
        'location',
        'retry-after',
        'x-request-id',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
      ],
      maxAge: 600,
    })
  }

  if (http.rateLimit) {
    // All options go to the plugin and `rateLimit()` takes none: given options, it derives a store
    // whose keys carry a route this hook has not got (`…undefinedundefined-ip:…` in Redis).
    await app.register(rateLimit, {
      global: false,
      max: http.rateLimit.points,
      timeWindow: http.rateLimit.windowMs,
      // The matched route, so `/health?x` and `/%68ealth` are exempt too, and an unknown path is not.
      allowList: (request) => RATE_LIMIT_EXEMPT.has(request.routeOptions.url ?? ''),
      keyGenerator: (request) => {
        const client = identifyClient(request)
        // Only a bearer JWT is verified asynchronously; a key or no credential answers at once.
        if (client instanceof Promise) return client.then((name) => name ?? addressOf(request))
        return client ?? addressOf(request)
      },
      errorResponseBuilder: (_request, context) =>
        new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000)), context.max),
      // Reads must not depend on Redis: while it is down, requests pass uncounted.
      ...(redis ? { redis, nameSpace: `${prefix}:api-rate-limit:`, skipOnError: true } : {}),
    })
    app.addHook('onRequest', app.rateLimit())
  }

  registerRequestLimits(app)
}

function addressOf(request: FastifyRequest): string {
  return `ip:${rateLimit.normalizeIP(request.ip)}`
}

/** TRUST_PROXY as Fastify's `trustProxy`; a hop count as the function proxy-addr would build from it. */
export function trustProxyOption(
  value: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof value === 'number') return (_address, hop) => hop < value
  return typeof value === 'boolean' ? value : [...value]
}
