import { setTimeout as sleep } from 'node:timers/promises'
import type { Span } from '@opentelemetry/api'
import { Agent, errors as undiciErrors, request } from 'undici'
import type { Config } from '../../config.js'
import { SourceHttpError, type SourceHttpCode } from '../../errors.js'
import type { Logger } from '../../logger.js'
import type { Metrics, UpstreamStatus } from '../../metrics/metrics.js'
import type { CallPriority, OutboundLimiter } from './outbound-limiter.js'
import { backoffMs, parseRetryAfter } from './retry-after.js'
import { parseUpstreamErrorBody } from './upstream-error-body.js'
import { redactUrl } from '../../redact-secrets.js'
import { failSpan, markSpanFailed, startSpan, tracingEnabled } from '../../telemetry/tracing.js'

/** A JSON answer: the body exactly as received (stored raw) and parsed once. */
export interface UpstreamResponse {
  readonly body: string
  readonly json: unknown
  readonly status: number
  readonly attempts: number
}

export interface UpstreamClient {
  /** GETs `path` with `query`; retries what a retry can fix; throws `SourceHttpError` otherwise. */
  getJson(
    path: string,
    query: Readonly<Record<string, string>>,
    /**
     * `log`: the run's logger, so a retry is logged with the run's id. `priority`: `background`
     * for a backfill, which yields the outbound limit to the snapshot runs.
     */
    options?: { readonly signal?: AbortSignal; readonly log?: Logger; readonly priority?: CallPriority },
  ): Promise<UpstreamResponse>
  close(): Promise<void>
}

/** What a source may hand its client: a shared limiter (else its own), and where to count calls. */
export interface UpstreamClientDeps {
  readonly limiter?: OutboundLimiter
  readonly metrics?: Metrics
}

export interface UpstreamClientOptions {
  readonly source: string
  readonly baseUrl: string
  /** Sent with every call; values are secrets and never logged, stored or put in an error. */
  readonly authHeaders: Readonly<Record<string, string>>
  readonly http: Config['upstream']
  readonly limiter: OutboundLimiter
  readonly log: Logger
  /** Where every attempt, retry and rate-limit wait is counted, whoever makes the call. */
  readonly metrics?: Metrics
  readonly random?: () => number
}

const USER_AGENT = 'coinpipe/0.1 (+https://github.com/coinpipe)'

/**
 * One upstream's HTTP client: connect and read timeouts, a rate limiter before every attempt,
 * retries with exponential backoff and full jitter on 429, 5xx, timeouts, resets and broken
 * bodies, `Retry-After` honoured within a total wait budget (and passed to the limiter, which
 * pauses every caller sharing it), and 401/402/403 final at once.
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const { source, http, limiter, log, metrics } = options
  const agent = new Agent({
    connect: { timeout: http.connectTimeoutMs },
    headersTimeout: http.readTimeoutMs,
    bodyTimeout: http.readTimeoutMs,
  })
  const secrets = Object.values(options.authHeaders).filter((v) => v.length > 0)
  // A key the upstream echoes back must not reach a log, an error or a stored raw payload.
  const scrub = (text: string) =>
    secrets.some((secret) => text.includes(secret))
      ? secrets.reduce((t, secret) => t.split(secret).join('[redacted]'), text)
      : text
  const base = new URL(options.baseUrl)
  const host = base.host
  const headers = { accept: 'application/json', 'user-agent': USER_AGENT, ...options.authHeaders }

  /**
   * A CLIENT span per attempt, as OpenTelemetry's HTTP conventions have it: a retry is a span of its
   * own with `http.request.resend_count` and the backoff (or Retry-After) it waited out. The wait for
   * the outbound rate limit is `coinpipe.rate_limit_wait_ms`. Keys travel in headers, which spans
   * never carry; the URL is redacted all the same, in case a key ever sits in it.
   */
  const startAttemptSpan = (url: string, attempts: number, pacedMs: number, delayedMs: number) =>
    startSpan(`GET ${host}`, {
      kind: 'client',
      attributes: {
        'http.request.method': 'GET',
        'server.address': base.hostname,
        'server.port': Number(base.port) || (base.protocol === 'https:' ? 443 : 80),
        'url.full': scrub(redactUrl(url)),
        'coinpipe.source': source,
        'coinpipe.rate_limit_wait_ms': pacedMs,
        ...(attempts > 1
          ? { 'http.request.resend_count': attempts - 1, 'coinpipe.retry_delay_ms': delayedMs }
          : {}),
      },
    })

  async function attempt(url: string, signal: AbortSignal | undefined, attempts: number) {
    let response
    try {
      response = await request(url, { method: 'GET', headers, dispatcher: agent, signal })
    } catch (error) {
      signal?.throwIfAborted()
      throw transportError(source, host, error, attempts)
    }
    let body: string
    try {
      body = scrub(await response.body.text())
    } catch (error) {
      signal?.throwIfAborted()
      throw transportError(source, host, error, attempts)
    }
    const status = response.statusCode
    if (status >= 200 && status < 300) {
      try {
        return { body, json: JSON.parse(body) as unknown, status, attempts }
      } catch (cause) {
        throw new SourceHttpError(
          'SOURCE_BAD_RESPONSE',
          `${source} answered ${status} with a body that is not JSON (${body.length} bytes, perhaps truncated)`,
          { source, status, attempts },
          cause,
        )
      }
    }
    const described = parseUpstreamErrorBody(body)
    const retryAfter = response.headers['retry-after']
    throw new SourceHttpError(
      codeForStatus(status),
      `${source} answered HTTP ${status}: ${described.message}`,
      {
        source,
        status,
        attempts,
        ...(described.upstreamCode ? { upstreamCode: described.upstreamCode } : {}),
        ...withRetryAfter(parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter)),
      },
    )
  }

  return {
    async getJson(path, query, { signal, log: callLog = log, priority } = {}) {
      const url = `${options.baseUrl}${path}${Object.keys(query).length > 0 ? `?${new URLSearchParams(query).toString()}` : ''}`
      let waitedMs = 0
      let delayedMs = 0
      for (let attempts = 1; ; attempts++) {
        const pacedMs = await limiter.acquire(signal, priority)
        metrics?.observeRateLimitWait(source, pacedMs / 1000)
        if (pacedMs > 0) callLog.debug({ path, waitedMs: pacedMs }, 'waited for the outbound rate limit')
        const span = tracingEnabled() ? startAttemptSpan(url, attempts, pacedMs, delayedMs) : undefined
        const startedMs = performance.now()
        try {
          const response = await attempt(url, signal, attempts)
          metrics?.observeUpstreamCall(source, response.status, (performance.now() - startedMs) / 1000)
          span?.setAttribute('http.response.status_code', response.status)
          span?.end()
          return response
        } catch (error) {
          metrics?.observeUpstreamCall(source, statusOf(error), (performance.now() - startedMs) / 1000)
          if (span) endFailedAttemptSpan(span, error)
          if (!(error instanceof SourceHttpError) || !error.retryable) throw error
          const { retryAfterMs } = error.details
          // Every process sharing the limiter holds back too, even when this call gives up. Capped
          // at the retry budget, so one odd header cannot stop the whole cluster for hours.
          if (retryAfterMs !== undefined) await limiter.pause(Math.min(retryAfterMs, http.maxRetryWaitMs))
          if (attempts > http.maxRetries) throw error
          const delayMs =
            retryAfterMs ?? backoffMs(attempts - 1, http.retryBaseMs, http.maxRetryWaitMs, options.random)
          if (waitedMs + delayMs > http.maxRetryWaitMs) {
            throw new SourceHttpError(
              error.code,
              `${error.message}; waiting ${Math.ceil(delayMs / 1000)} s more would pass the retry budget of ${Math.round(http.maxRetryWaitMs / 1000)} s`,
              error.details,
              error,
            )
          }
          callLog.warn(
            { path, status: error.details.status, errorCode: error.code, attempt: attempts, delayMs },
            'upstream call failed; retrying',
          )
          metrics?.countUpstreamRetry(source, error.code.replace(/^SOURCE_/, '').toLowerCase())
          waitedMs += delayMs
          delayedMs = delayMs
          await sleep(delayMs, undefined, { signal })
        }
      }
    },
    close: () => agent.close(),
  }
}

/** An attempt that failed: its status when the upstream answered, and why (`error.type`). */
function endFailedAttemptSpan(span: Span, error: unknown): void {
  const status = error instanceof SourceHttpError ? error.details.status : undefined
  if (status !== undefined) {
    span.setAttribute('http.response.status_code', status)
    markSpanFailed(span, String(status), error instanceof Error ? error.message : undefined)
  } else failSpan(span, error)
  span.end()
}

function codeForStatus(status: number): SourceHttpCode {
  if (status === 401 || status === 403) return 'SOURCE_AUTH_FAILED'
  if (status === 402) return 'SOURCE_PLAN_REQUIRED'
  if (status === 429) return 'SOURCE_RATE_LIMITED'
  if (status === 408) return 'SOURCE_TIMEOUT'
  if (status >= 500) return 'SOURCE_UNAVAILABLE'
  return 'SOURCE_REQUEST_REJECTED'
}

/** An attempt's outcome as a bounded metric label: the HTTP status, else timeout or error. */
function statusOf(error: unknown): UpstreamStatus {
  if (!(error instanceof SourceHttpError)) return 'error'
  return error.details.status ?? (error.code === 'SOURCE_TIMEOUT' ? 'timeout' : 'error')
}

function withRetryAfter(ms: number | undefined): { retryAfterMs?: number } {
  return ms === undefined ? {} : { retryAfterMs: ms }
}

const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** A failure below HTTP: no connection, no answer in time, or a connection cut mid-answer. */
function transportError(source: string, host: string, error: unknown, attempts: number): SourceHttpError {
  const code = (error as { code?: string }).code ?? ''
  const timedOut = TIMEOUTS.has(code)
  const what = timedOut
    ? `timed out (${code} from ${host})`
    : error instanceof undiciErrors.UndiciError || code !== ''
      ? `connection failed (${code || (error as Error).name} to ${host})`
      : `request failed (${(error as Error).message})`
  return new SourceHttpError(
    timedOut ? 'SOURCE_TIMEOUT' : 'SOURCE_UNAVAILABLE',
    `${source} ${what}`,
    { source, attempts },
    error,
  )
}
