import { describe, expect, it } from 'vitest'
import { tracingRequested } from '../config.js'
import { activeSpanIds, inSpan, inSpanEach, startSpan, traceCarrier, withTraceCarrier } from './tracing.js'

describe('tracingRequested', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, false],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_TRACES_EXPORTER: ' None ' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_SERVICE_NAME: 'coinpipe', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, false],
  ])('reads %j as %s', (env, expected) => {
    expect(tracingRequested(env)).toBe(expected)
  })
})

describe('the tracing helpers with tracing off', () => {
  it('run the work as it is, with no span', async () => {
    const seen: unknown[] = []
    const result = await inSpan('etl.run', { attributes: { a: 1 } }, (span) => {
      seen.push(span)
      return Promise.resolve(42)
    })
    expect(result).toBe(42)
    expect(seen).toEqual([undefined])
    expect(startSpan('x', {})).toBeUndefined()
    expect(activeSpanIds()).toBeUndefined()
  })

  it('hand back the very iterable, and carry no trace context', () => {
    const iterable: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
    }
    expect(inSpanEach(iterable, 'etl.extract', {}, () => ({}))).toBe(iterable)
    expect(traceCarrier()).toBeUndefined()
    expect(
      withTraceCarrier({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, () => 7),
    ).toBe(7)
  })
})
