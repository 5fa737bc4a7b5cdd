/**
 * A local HTTP server imitating CoinGecko v3 and CoinPaprika v1 (upstream-apis.md) for tests,
 * benchmarks and the demo: deterministic payloads on a movable clock, upstream-style key checks and
 * rate limits, queued faults, and a log of every request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { REFERENCE_TIME, type FakeSource } from './catalogue.js'
import {
  applyDrift,
  errorReply,
  faultAction,
  faultMatches,
  type Drift,
  type FaultAction,
  type FaultSpec,
  type Reply,
  type UpstreamError,
} from './faults.js'
import { coingeckoJson, coinpaprikaJson } from './number-format.js'
import { createWorld, routeCoingecko, routeCoinpaprika } from './routes.js'

export type { FakeSource } from './catalogue.js'
export type { Drift, FaultSpec } from './faults.js'

export interface FakeUpstreamOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** The snapshot time; default 2026-11-25T12:00:00Z. */
  now?: Date
  /** Serve this many CoinGecko markets, adding synthetic coins beyond the catalogue. */
  coingeckoMarkets?: number
  /** Serve this many CoinPaprika tickers (the free plan still truncates `/tickers` to 2000). */
  coinpaprikaTickers?: number
  /** Default 'free': no `circulating_supply`, at most 2000 tickers. */
  coinpaprikaPlan?: 'free' | 'paid'
  /** Server-side rate limits; excess requests get the documented 429 (CoinGecko JSON body with retry-after header, CoinPaprika {"error":"you have reached maximum request limit"}). Sliding window. */
  limits?: Partial<Record<FakeSource, { points: number; windowMs: number }>>
  /** When set, the fake checks keys like the real upstream: CoinGecko demo key must come in x-cg-demo-api-key on any host path, pro key in x-cg-pro-api-key (a key in the wrong header → 400 with error_code 10010/10011 body; missing → 401 10002 body). CoinPaprika key in Authorization, raw or "Bearer <key>"; wrong → 403. */
  keys?: { coingecko?: { key: string; plan: 'demo' | 'pro' }; coinpaprika?: string }
}

export interface FakeRequest {
  source: FakeSource
  method: string
  /** After the source prefix, e.g. '/coins/markets'. */
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  /** Arrival, Date.now(). */
  at: number
  /** The status answered; 0 while pending, for a reset, or when the client left first. */
  status: number
}

export interface FakeUpstream {
  /** http://127.0.0.1:PORT */
  readonly url: string
  /** url + '/coingecko/api/v3' */
  readonly coingeckoUrl: string
  /** url + '/coinpaprika/v1' */
  readonly coinpaprikaUrl: string
  readonly requests: readonly FakeRequest[]
  count(source?: FakeSource, path?: string): number
  /** The most requests of `source` seen in any sliding window of `windowMs` (half-open). */
  maxInWindow(source: FakeSource, windowMs: number): number
  /** Queue a fault: it answers the next `times` (default 1; Infinity = until cleared) matching requests. */
  fault(spec: FaultSpec): void
  clearFaults(): void
  /** Moves the snapshot clock: most coins update, a few laggards keep their values. */
  advance(ms: number): void
  readonly now: Date
  close(): Promise<void>
}

const PREFIXES: Record<FakeSource, string> = {
  coingecko: '/coingecko/api/v3',
  coinpaprika: '/coinpaprika/v1',
}
const JSON_TYPE = 'application/json; charset=utf-8'

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const world = createWorld({
    now: options.now ?? REFERENCE_TIME,
    coingeckoMarkets: options.coingeckoMarkets,
    coinpaprikaTickers: options.coinpaprikaTickers,
    coinpaprikaPlan: options.coinpaprikaPlan ?? 'free',
    coingeckoPlan: options.keys?.coingecko?.plan ?? 'demo',
  })
  const requests: FakeRequest[] = []
  const faults: { spec: FaultSpec; left: number }[] = []
  const admitted: Record<FakeSource, number[]> = { coingecko: [], coinpaprika: [] }
  const pendingWaits = new Set<() => void>()

  const timestamp = () => new Date(world.snapshot.at).toISOString().replace('Z', '+00:00')

  function takeFault(
    source: FakeSource,
    path: string,
    query: Record<string, string>,
  ): FaultAction | undefined {
    const index = faults.findIndex((f) => faultMatches(f.spec, source, path, query))
    const found = faults[index]
    if (!found) return undefined
    if (--found.left <= 0) faults.splice(index, 1)
    return faultAction(found.spec, timestamp())
  }

  function checkKey(source: FakeSource, request: FakeRequest): UpstreamError | undefined {
    if (source === 'coinpaprika') {
      if (options.keys?.coinpaprika === undefined) return undefined
      const sent = request.headers.authorization?.replace(/^Bearer\s+/i, '')
      if (sent === options.keys.coinpaprika) return undefined
      return { kind: sent ? 'key_invalid' : 'key_missing', timestamp: timestamp() }
    }
    const expected = options.keys?.coingecko
    if (!expected) return undefined
    const demo = request.headers['x-cg-demo-api-key'] ?? request.query.x_cg_demo_api_key
    const pro = request.headers['x-cg-pro-api-key'] ?? request.query.x_cg_pro_api_key
    const [right, wrong] = expected.plan === 'demo' ? [demo, pro] : [pro, demo]
    if (right === expected.key) return undefined
    if (right === undefined && wrong !== undefined) return { kind: 'key_wrong_host', plan: expected.plan }
    return { kind: right === undefined ? 'key_missing' : 'key_invalid', timestamp: timestamp() }
  }

  /** Sliding-window log of admitted requests; rejected ones do not count. */
  function checkLimit(source: FakeSource): UpstreamError | undefined {
    const limit = options.limits?.[source]
    if (!limit) return undefined
    const now = Date.now()
    const log = admitted[source]
    while (log.length > 0 && (log[0] ?? 0) <= now - limit.windowMs) log.shift()
    if (log.length < limit.points) {
      log.push(now)
      return undefined
    }
    const retryAfter = Math.max(1, Math.ceil(((log[0] ?? now) + limit.windowMs - now) / 1000))
    return { kind: 'rate_limited', retryAfter: source === 'coingecko' ? retryAfter : undefined }
  }

  /**
   * `limit`: the limit's verdict when it was taken on arrival: a slow answer counts when its request
   * came, as the upstream counts it, not when it leaves.
   */
  function answer(
    request: FakeRequest,
    drift?: Drift,
    limit = { refused: checkLimit(request.source) },
  ): Reply {
    const { source } = request
    const refused = limit.refused ?? checkKey(source, request)
    if (refused) return errorReply(source, refused)
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return errorReply(source, { kind: 'not_found', message: 'not found' })
    const route = source === 'coingecko' ? routeCoingecko : routeCoinpaprika
    const routed = route(request.path, request.query, world)
    if ('error' in routed) return errorReply(source, routed.error)
    const payload = drift ? applyDrift(structuredClone(routed.payload), drift) : routed.payload
    const body = source === 'coingecko' ? coingeckoJson(payload) : coinpaprikaJson(payload)
    return { status: 200, headers: { 'content-type': JSON_TYPE }, body }
  }

  function wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = () => {
        clearTimeout(timer)
        pendingWaits.delete(cancel)
        resolve(false)
      }
      const timer = setTimeout(() => {
        pendingWaits.delete(cancel)
        resolve(true)
      }, ms)
      pendingWaits.add(cancel)
    })
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake-upstream')
    const source = (Object.keys(PREFIXES) as FakeSource[]).find(
      (s) => url.pathname === PREFIXES[s] || url.pathname.startsWith(`${PREFIXES[s]}/`),
    )
    if (!source)
      return send(req, res, {
        status: 404,
        headers: { 'content-type': JSON_TYPE },
        body: '{"error":"not found"}',
      })

    const request: FakeRequest = {
      source,
      method: req.method ?? 'GET',
      path: url.pathname.slice(PREFIXES[source].length).replace(/\/+$/, '') || '/',
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(', ') : (value ?? ''),
        ]),
      ),
      at: Date.now(),
      status: 0,
    }
    requests.push(request)

    const action = takeFault(source, request.path, request.query)
    if (action?.type === 'reset') return void req.socket.destroy()
    if (action?.type === 'reply') return void (request.status = send(req, res, action.reply))
    const limit = action?.type === 'delay' ? { refused: checkLimit(source) } : undefined
    if (action?.type === 'delay' && !(await wait(action.ms))) return
    let reply = answer(request, action?.type === 'drift' ? action.drift : undefined, limit)
    if (action?.type === 'truncate' && reply.status === 200)
      reply = { ...reply, body: reply.body.slice(0, Math.floor(reply.body.length / 2)) }
    request.status = send(req, res, reply)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('fake upstream failed to answer', req.url, error)
      if (!res.headersSent) res.writeHead(500).end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const { address, port } = server.address() as AddressInfo
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`

  return {
    url,
    coingeckoUrl: url + PREFIXES.coingecko,
    coinpaprikaUrl: url + PREFIXES.coinpaprika,
    requests,
    count: (source, path) =>
      requests.filter((r) => (!source || r.source === source) && (path === undefined || r.path === path))
        .length,
    maxInWindow(source, windowMs) {
      const times = requests
        .filter((r) => r.source === source)
        .map((r) => r.at)
        .sort((a, b) => a - b)
      let best = 0
      for (let end = 0, start = 0; end < times.length; end++) {
        while (start <= end && (times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++
        best = Math.max(best, end - start + 1)
      }
      return best
    },
    fault: (spec) => void faults.push({ spec, left: spec.times ?? 1 }),
    clearFaults: () => void faults.splice(0),
    advance(ms) {
      world.snapshot = { ...world.snapshot, at: world.snapshot.at + ms }
      world.memo.clear()
    },
    get now() {
      return new Date(world.snapshot.at)
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const cancel of [...pendingWaits]) cancel()
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}

/** Writes the reply unless the client has gone; returns the status delivered (0 if none). */
function send(req: IncomingMessage, res: ServerResponse, reply: Reply): number {
  if (res.destroyed || req.socket.destroyed) return 0
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) })
  res.end(req.method === 'HEAD' ? undefined : reply.body)
  return reply.status
}
