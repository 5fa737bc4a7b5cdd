import type * as OtelApi from '@opentelemetry/api'
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api'
import type { Logger } from '../logger.js'

/**
 * The seam between coinpipe's code and OpenTelemetry. Instrumented code calls these helpers; until
 * start-telemetry.ts calls `enableTracing` (only when tracing is asked for), they run the work as it
 * is, and `@opentelemetry/api` is never even loaded: a process without tracing pays nothing.
 */

let otel:
  | {
      readonly api: typeof OtelApi
      readonly tracer: Tracer
      readonly kinds: Readonly<Record<SpanKindName, OtelApi.SpanKind>>
    }
  | undefined
let problemLog: Logger | undefined

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer'

export interface SpanOptions {
  readonly kind?: SpanKindName
  readonly attributes?: Attributes
}

/** Turns the helpers on, with the API the started SDK registered into. */
export function enableTracing(api: typeof OtelApi, version: string): void {
  const { SpanKind } = api
  otel = {
    api,
    tracer: api.trace.getTracer('coinpipe', version),
    kinds: {
      internal: SpanKind.INTERNAL,
      server: SpanKind.SERVER,
      client: SpanKind.CLIENT,
      producer: SpanKind.PRODUCER,
      consumer: SpanKind.CONSUMER,
    },
  }
}

/** Whether spans are recorded: check it before building anything only a span would use. */
export function tracingEnabled(): boolean {
  return otel !== undefined
}

/** The tracer coinpipe's spans come from; undefined with tracing off. */
export function coinpipeTracer(): Tracer | undefined {
  return otel?.tracer
}

/** Where tracing reports its own trouble (a collector that does not answer): the command's logger. */
export function reportTracingProblemsTo(log: Logger): void {
  if (otel) problemLog = log
}

/** The logger `reportTracingProblemsTo` was given, if any. */
export function tracingProblemLog(): Logger | undefined {
  return problemLog
}

/**
 * Runs `work` in a new span under the active one, active itself while `work` runs; it ends when
 * `work` settles, marked failed when it throws. With tracing off: `work(undefined)`, nothing else.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!otel) return work(undefined)
  return otel.tracer.startActiveSpan(name, spanOptions(options), async (span) => {
    try {
      return await work(span)
    } catch (error) {
      failSpan(span, error)
      throw error
    } finally {
      span.end()
    }
  })
}

/** Starts a span under the active one without making it active: for work that ends elsewhere. */
export function startSpan(name: string, options: SpanOptions): Span | undefined {
  return otel?.tracer.startSpan(name, spanOptions(options))
}

/** Whether a span is active here: work outside any trace may skip building a span at all. */
export function spanActive(): boolean {
  return otel !== undefined && otel.api.trace.getSpan(otel.api.context.active()) !== undefined
}

/**
 * Records a span for work that has just finished, `durationMs` long, under the active span. Only
 * inside a trace: a statement nobody traced around (a migration, a poll) would be a trace of its own.
 */
export function recordFinishedSpan(
  name: string,
  options: SpanOptions & { readonly durationMs: number; readonly failed?: boolean },
): void {
  if (!otel) return
  const { api, tracer } = otel
  if (api.trace.getSpan(api.context.active()) === undefined) return
  const endTime = performance.now()
  // A number below the time origin is read as performance.now() time by the SDK.
  const span = tracer.startSpan(name, { ...spanOptions(options), startTime: endTime - options.durationMs })
  if (options.failed) span.setStatus({ code: api.SpanStatusCode.ERROR })
  span.end(endTime)
}

/** Marks `span` failed by `error`: status ERROR with the error's message, the exception, `error.type`. */
export function failSpan(span: Span | undefined, error: unknown): void {
  if (!span || !otel) return
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown } | null)?.code
  span.setStatus({ code: otel.api.SpanStatusCode.ERROR, message })
  span.setAttribute(
    'error.type',
    typeof code === 'string' ? code : error instanceof Error ? error.constructor.name : '_OTHER',
  )
  if (error instanceof Error) span.recordException(error)
}

/** Marks `span` failed without an exception: status ERROR, `error.type`, and what went wrong. */
export function markSpanFailed(span: Span | undefined, errorType: string, message?: string): void {
  if (!span || !otel) return
  span.setStatus({ code: otel.api.SpanStatusCode.ERROR, ...(message === undefined ? {} : { message }) })
  span.setAttribute('error.type', errorType)
}

/**
 * The active trace context as W3C Trace Context fields (`traceparent`, maybe `tracestate`), to carry
 * in a message to another process; undefined with tracing off or outside a trace.
 */
export function traceCarrier(): Record<string, string> | undefined {
  if (!otel) return undefined
  const carrier: Record<string, string> = {}
  otel.api.propagation.inject(otel.api.context.active(), carrier)
  return Object.keys(carrier).length > 0 ? carrier : undefined
}

/** Runs `work` in the trace `carrier` came from (see `traceCarrier`), or as it is without one. */
export function withTraceCarrier<T>(carrier: Readonly<Record<string, string>> | undefined, work: () => T): T {
  if (!otel || carrier === undefined) return work()
  const { api } = otel
  const parent: Context = api.propagation.extract(api.ROOT_CONTEXT, carrier)
  return api.context.with(parent, work)
}

/** The active span's ids, as log lines carry them; undefined outside a span. */
export function activeSpanIds(): { trace_id: string; span_id: string } | undefined {
  if (!otel) return undefined
  const span = otel.api.trace.getSpan(otel.api.context.active())
  if (span === undefined) return undefined
  const { traceId, spanId } = span.spanContext()
  return { trace_id: traceId, span_id: spanId }
}

/**
 * `iterable` with each step (each `next()`, the work that produces an item) in a span of its own;
 * with tracing off, `iterable` itself.
 */
export function inSpanEach<T>(
  iterable: AsyncIterable<T>,
  name: string,
  options: SpanOptions,
  describe: (item: T) => Attributes,
): AsyncIterable<T> {
  if (!otel) return iterable
  return (async function* () {
    const iterator = iterable[Symbol.asyncIterator]()
    try {
      for (;;) {
        const step = await inSpan(name, options, async (span) => {
          const next = await iterator.next()
          if (!next.done) span?.setAttributes(describe(next.value))
          return next
        })
        if (step.done) return
        yield step.value
      }
    } finally {
      await iterator.return?.()
    }
  })()
}

function spanOptions({ kind = 'internal', attributes }: SpanOptions): OtelApi.SpanOptions {
  return { kind: otel?.kinds[kind], attributes }
}
