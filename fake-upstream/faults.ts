/**
 * Fault specs and how they are answered, with each source's documented error bodies
 * (upstream-apis.md §1.6, §2.6). The server also uses `errorReply` for its own key and limit checks.
 */
import { STATUS_CODES } from 'node:http'
import type { FakeSource } from './catalogue.js'

/** A schema change applied to every item of a 200 payload; dotted paths reach nested fields. */
export interface Drift {
  rename?: [from: string, to: string]
  remove?: string
  retype?: [field: string, as: 'string' | 'number' | 'null' | 'object']
  add?: [field: string, value: unknown]
}

export type FaultSpec = {
  source: FakeSource
  /** Exact path after the source prefix, e.g. '/coins/markets'; any path when absent. */
  path?: string
  /** Matches the `page` query parameter (absent counts as 1). */
  page?: number
  /** How many matching requests it answers: default 1, Infinity until cleared. */
  times?: number
} & (
  | { kind: 'rate_limit'; retryAfter?: number | string; body?: 'json' | 'html' }
  | { kind: 'server_error' }
  | { kind: 'unavailable'; body?: 'json' | 'html' | 'empty' }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'truncated' }
  | { kind: 'garbage' }
  | { kind: 'html'; status?: number }
  | { kind: 'empty'; status: number }
  | { kind: 'unauthorized' }
  | { kind: 'payment_required' }
  | { kind: 'forbidden' }
  | { kind: 'reset' }
  | { kind: 'drift'; drift: Drift }
)

export interface Reply {
  status: number
  headers: Record<string, string>
  body: string
}

/** What a fault does: answer instead of the upstream, drop the socket, or delay or alter the normal answer. */
export type FaultAction =
  | { type: 'reply'; reply: Reply }
  | { type: 'reset' }
  | { type: 'delay'; ms: number }
  | { type: 'truncate' }
  | { type: 'drift'; drift: Drift }

/** Errors the fake answers itself: limits, keys, routing. */
export type UpstreamError =
  | { kind: 'rate_limited'; retryAfter?: number | string; body?: 'json' | 'html' }
  | { kind: 'key_missing' | 'key_invalid'; timestamp: string }
  | { kind: 'key_wrong_host'; plan: 'demo' | 'pro' }
  | { kind: 'not_found'; message: string }
  | { kind: 'bad_request'; message: string }
  /** History beyond what the plan reaches: 401, error_code 10012 in an extra `error` wrapper. */
  | { kind: 'history_window'; timestamp: string; reach: string }

const JSON_TYPE = 'application/json; charset=utf-8'
const CG_RATE_LIMITED =
  "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits."
const CG_KEY_MISSING =
  "API Key Missing. Please make sure you're using the right authentication method. For Pro API, ensure you pass in x_cg_pro_api_key parameter with a Pro Key. For Demo API, ensure you pass in x_cg_demo_api_key parameter with a Demo Key."

export function faultMatches(
  spec: FaultSpec,
  source: FakeSource,
  path: string,
  query: Record<string, string>,
) {
  if (spec.source !== source || (spec.path !== undefined && spec.path !== path)) return false
  return spec.page === undefined || spec.page === Number(query.page ?? '1')
}

export function faultAction(spec: FaultSpec, timestamp: string): FaultAction {
  const { source } = spec
  const cg = source === 'coingecko'
  const reply = (r: Reply): FaultAction => ({ type: 'reply', reply: r })
  switch (spec.kind) {
    case 'rate_limit':
      return reply(errorReply(source, { kind: 'rate_limited', retryAfter: spec.retryAfter, body: spec.body }))
    case 'server_error':
      return reply(json(500, { error: cg ? 'Internal Server Error' : 'internal server error' }))
    case 'unavailable':
      if (spec.body === 'html') return reply(htmlPage(source, 503))
      if (spec.body === 'empty') return reply({ status: 503, headers: {}, body: '' })
      return reply(json(503, { error: cg ? 'Service Unavailable' : 'service unavailable' }))
    case 'slow':
      return { type: 'delay', ms: spec.delayMs }
    case 'truncated':
      return { type: 'truncate' }
    case 'garbage':
      return reply({ status: 200, headers: { 'content-type': JSON_TYPE }, body: GARBAGE })
    case 'html':
      return reply(htmlPage(source, spec.status ?? 503))
    case 'empty':
      return reply({ status: spec.status, headers: {}, body: '' })
    case 'unauthorized':
      return reply(errorReply(source, { kind: 'key_missing', timestamp }))
    case 'payment_required':
      return reply(
        cg
          ? json(
              402,
              cgStatus(10005, 'This request is limited to paid plan subscribers. Please upgrade your plan.'),
            )
          : json(402, { error: 'upgrade your plan to access this endpoint' }),
      )
    case 'forbidden':
      return reply(
        json(403, cg ? cgStatus(403, 'Access to this resource is forbidden') : { error: 'forbidden' }),
      )
    case 'reset':
      return { type: 'reset' }
    case 'drift':
      return { type: 'drift', drift: spec.drift }
  }
}

export function errorReply(source: FakeSource, error: UpstreamError): Reply {
  const cg = source === 'coingecko'
  switch (error.kind) {
    case 'rate_limited': {
      const headers: Record<string, string> =
        error.retryAfter === undefined ? {} : { 'retry-after': String(error.retryAfter) }
      const reply =
        error.body === 'html'
          ? htmlPage(source, 429)
          : json(
              429,
              cg ? cgStatus(429, CG_RATE_LIMITED) : { error: 'you have reached maximum request limit' },
            )
      return { ...reply, headers: { ...reply.headers, ...headers } }
    }
    case 'key_missing':
    case 'key_invalid':
      if (!cg) return json(403, { error: 'invalid api key' })
      return json(401, {
        status: {
          timestamp: error.timestamp,
          error_code: 10002,
          error_message:
            error.kind === 'key_missing' ? CG_KEY_MISSING : 'Invalid API Key. Please check your key.',
        },
      })
    case 'key_wrong_host':
      // A Pro key on the public root is 10010, a Demo key on the pro root is 10011 (upstream-apis.md §2.1).
      return json(
        400,
        error.plan === 'demo'
          ? cgStatus(
              10010,
              'If you are using Pro API key, please change your root URL from api.coingecko.com to pro-api.coingecko.com',
            )
          : cgStatus(
              10011,
              'If you are using Demo API key, please change your root URL from pro-api.coingecko.com to api.coingecko.com',
            ),
      )
    case 'not_found':
      return json(404, { error: error.message })
    case 'bad_request':
      return json(400, { error: error.message })
    case 'history_window':
      return json(401, {
        error: {
          status: {
            timestamp: error.timestamp,
            error_code: 10012,
            error_message: `Your request exceeds the allowed time range. Your plan is limited to querying historical data within ${error.reach}.`,
          },
        },
      })
  }
}

function json(status: number, body: unknown): Reply {
  return { status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) }
}

/** Applies `drift` to every item of a payload (an array's elements, or the object itself). */
export function applyDrift(payload: unknown, drift: Drift): unknown {
  for (const item of Array.isArray(payload) ? payload : [payload]) {
    if (!isRecord(item)) continue
    if (drift.rename) {
      const [from, to] = drift.rename
      const { parent, key } = locate(item, from)
      if (parent && key in parent) renameKey(parent, key, to.split('.').pop() ?? to)
    }
    if (drift.remove) {
      const { parent, key } = locate(item, drift.remove)
      if (parent) delete parent[key]
    }
    if (drift.retype) {
      const { parent, key } = locate(item, drift.retype[0])
      if (parent && key in parent) parent[key] = retype(parent[key], drift.retype[1])
    }
    if (drift.add) {
      const { parent, key } = locate(item, drift.add[0])
      if (parent) parent[key] = structuredClone(drift.add[1])
    }
  }
  return payload
}

function locate(item: Record<string, unknown>, path: string) {
  const segments = path.split('.')
  const key = segments.pop() ?? path
  let parent: unknown = item
  for (const segment of segments) parent = isRecord(parent) ? parent[segment] : undefined
  return { parent: isRecord(parent) ? parent : undefined, key }
}

/** Renames in place, keeping the key's position: real payloads keep their order when a field is renamed. */
function renameKey(parent: Record<string, unknown>, from: string, to: string) {
  const entries = Object.entries(parent)
  for (const [key] of entries) delete parent[key]
  for (const [key, value] of entries) parent[key === from ? to : key] = value
}

function retype(value: unknown, as: 'string' | 'number' | 'null' | 'object'): unknown {
  switch (as) {
    case 'string':
      if (value === null || value === undefined) return ''
      return typeof value === 'string' ? value : JSON.stringify(value)
    case 'number': {
      if (typeof value === 'string' && Number.isNaN(Number(value)) && !Number.isNaN(Date.parse(value)))
        return Math.floor(Date.parse(value) / 1000)
      const number = Number(value)
      return Number.isFinite(number) ? number : 0
    }
    case 'null':
      return null
    case 'object':
      return { value }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function cgStatus(code: number, message: string) {
  return { status: { error_code: code, error_message: message } }
}

const GARBAGE = '{"id":"bitcoin","symbol":"btc",,, \u0000\u0001 upstream proxy: response body corrupted'

/** A Cloudflare-style error page, as CDNs in front of both APIs answer (upstream-apis.md §2.6). */
function htmlPage(source: FakeSource, status: number): Reply {
  const host = source === 'coingecko' ? 'api.coingecko.com' : 'api.coinpaprika.com'
  const reason = status === 429 ? 'You are being rate limited' : (STATUS_CODES[status] ?? 'Error')
  const code = status === 429 ? 1015 : status
  const body = [
    '<!DOCTYPE html>',
    '<html lang="en-US">',
    `<head><meta charset="UTF-8"><title>${host} | ${code}: ${reason}</title></head>`,
    '<body><div id="cf-wrapper"><div id="cf-error-details">',
    `<h1><span>Error</span> <span>${code}</span></h1><h2>${reason}</h2>`,
    `<p>The owner of this website (${host}) has been notified.</p>`,
    '<p>Cloudflare Ray ID: <strong>8e4f2a1b3c5d6e7f</strong></p>',
    '</div></div></body></html>',
  ].join('\n')
  return { status, headers: { 'content-type': 'text/html; charset=UTF-8', server: 'cloudflare' }, body }
}
