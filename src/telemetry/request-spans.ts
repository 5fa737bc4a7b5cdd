import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api'
import type { App } from '../api/build-app.js'
import { coinpipeTracer } from './tracing.js'

/** Probes and scrapes, every few seconds on every replica: traces of them would drown the rest. */
const UNTRACED_ROUTES = new Set(['/health', '/metrics'])

interface RequestTrace {
  readonly span: Span
  readonly context: Context
  /** What the handler threw, recorded on the span if the answer is a 5xx. */
  error?: Error
}

/**
 * A SERVER span per request (but `/health` and `/metrics`), `GET /api/v1/runs/:id`-style (the route
 * pattern, never the raw URL), continuing the caller's trace when it sends a W3C `traceparent`. Loaded and registered only
 * with tracing on, before the app's other hooks, so theirs run inside the span: the request log
 * line carries its ids, and what a handler starts (statements, a run, a job) is a child of it.
 */
export function traceRequests(app: App): void {
  const tracer = coinpipeTracer()
  if (!tracer) return
  const traces = new WeakMap<object, RequestTrace>()

  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url
    if (route !== undefined && UNTRACED_ROUTES.has(route)) return done()
    const parent = propagation.extract(ROOT_CONTEXT, request.headers)
    const query = request.url.indexOf('?')
    const userAgent = request.headers['user-agent']
    const span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          ...(route === undefined ? {} : { 'http.route': route }),
          'url.path': query === -1 ? request.url : request.url.slice(0, query),
          'url.scheme': request.protocol,
          'client.address': request.ip,
          ...(userAgent === undefined ? {} : { 'user_agent.original': userAgent }),
          'coinpipe.request_id': request.id,
        },
      },
      parent,
    )
    const traced: RequestTrace = { span, context: trace.setSpan(parent, span) }
    traces.set(request, traced)
    context.with(traced.context, done)
  })
  // As @fastify/otel does: a hook that carries on from a callback of its own (a Redis client's, in
  // queue mode's shared rate limit) would leave the request's context; the handler, which Fastify
  // calls straight from the last preHandler hook, starts back inside it whatever came before.
  app.addHook('preHandler', (request, _reply, done) => {
    const traced = traces.get(request)
    if (traced) context.with(traced.context, done)
    else done()
  })
  app.addHook('onError', (request, _reply, error, done) => {
    const traced = traces.get(request)
    if (traced) traced.error = error
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    const traced = traces.get(request)
    if (!traced) return done()
    const { span, error } = traced
    span.setAttribute('http.response.status_code', reply.statusCode)
    // A 4xx is the client's mistake, not the server's: the span stays unset, as HTTP conventions say.
    if (reply.statusCode >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR }).setAttribute('error.type', String(reply.statusCode))
      if (error) span.recordException(error)
    }
    span.end()
    // The hooks after this one (the request log line) run in the request's context too.
    context.with(traced.context, done)
  })
}
