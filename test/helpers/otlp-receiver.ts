import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { waitFor } from './wait-for.js'

/** One span as an OTLP/HTTP receiver got it, with its attributes and its resource's as plain objects. */
export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  /** Undefined for a root span. */
  readonly parentSpanId: string | undefined
  readonly name: string
  /** `internal`, `server`, `client`, `producer` or `consumer`. */
  readonly kind: string
  readonly startNs: bigint
  readonly endNs: bigint
  readonly attributes: Readonly<Record<string, unknown>>
  /** `unset`, `ok` or `error`. */
  readonly status: string
  readonly statusMessage: string | undefined
  readonly resource: Readonly<Record<string, unknown>>
  readonly scope: string
}

export interface OtlpReceiver {
  /** What OTEL_EXPORTER_OTLP_ENDPOINT takes: the exporter posts to `<url>/v1/traces`. */
  readonly url: string
  /** Every span received so far, in the order it came. */
  spans(): ReceivedSpan[]
  /** How many export requests came, whatever their content. */
  requests(): number
  /** Every export body received, as text: to check that something never left the process. */
  bodies(): string
  /** Waits until `check` finds what it wants among the spans received. */
  waitFor<T>(
    check: (spans: ReceivedSpan[]) => T | undefined | false,
    what: string,
    timeoutMs?: number,
  ): Promise<T>
  close(): Promise<void>
}

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']
const STATUSES = ['unset', 'ok', 'error']

/**
 * A local OTLP/HTTP trace receiver, as a collector would be: it accepts `POST /v1/traces` in
 * OTLP/JSON (children run with OTEL_EXPORTER_OTLP_PROTOCOL=http/json) and keeps the spans decoded.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const bodies: string[] = []
  let requests = 0
  const server = createServer((request, response) => {
    void readBody(request).then(
      (body) => {
        requests++
        if (request.method !== 'POST' || request.url !== '/v1/traces') {
          response.writeHead(404).end()
          return
        }
        const text = body.toString('utf8')
        bodies.push(text)
        try {
          spans.push(...decodeTraces(JSON.parse(text) as ExportRequest))
        } catch {
          response.writeHead(400, { 'content-type': 'application/json' }).end('{}')
          return
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      },
      () => response.writeHead(400).end(),
    )
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    requests: () => requests,
    bodies: () => bodies.join('\n'),
    waitFor: (check, what, timeoutMs = 15_000) =>
      waitFor(() => check([...spans]), { what, timeoutMs, intervalMs: 50 }),
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  const body = Buffer.concat(chunks)
  return request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body
}

interface KeyValue {
  key: string
  value: AnyValue
}
interface AnyValue {
  stringValue?: string
  intValue?: number | string
  doubleValue?: number
  boolValue?: boolean
  arrayValue?: { values?: AnyValue[] }
}
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] }
    scopeSpans?: {
      scope?: { name?: string }
      spans?: {
        traceId: string
        spanId: string
        parentSpanId?: string
        name: string
        kind?: number
        startTimeUnixNano: string | number
        endTimeUnixNano: string | number
        attributes?: KeyValue[]
        status?: { code?: number; message?: string }
      }[]
    }[]
  }[]
}

function decodeTraces(request: ExportRequest): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const resource = attributesOf(resourceSpans.resource?.attributes)
    return (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) =>
      (scopeSpans.spans ?? []).map((span) => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || undefined,
        name: span.name,
        kind: KINDS[span.kind ?? 0] ?? 'unspecified',
        startNs: BigInt(span.startTimeUnixNano),
        endNs: BigInt(span.endTimeUnixNano),
        attributes: attributesOf(span.attributes),
        status: STATUSES[span.status?.code ?? 0] ?? 'unset',
        statusMessage: span.status?.message || undefined,
        resource,
        scope: scopeSpans.scope?.name ?? '',
      })),
    )
  })
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]))
}

function valueOf(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf)
  return undefined
}

/** The span and its ancestors among `spans`, nearest first, as far as the chain is known. */
export function ancestry(span: ReceivedSpan, spans: readonly ReceivedSpan[]): ReceivedSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const chain = [span]
  for (
    let at = byId.get(span.parentSpanId ?? '');
    at && chain.length < 100;
    at = byId.get(at.parentSpanId ?? '')
  )
    chain.push(at)
  return chain
}
