import * as api from '@opentelemetry/api'
import { setGlobalErrorHandler } from '@opentelemetry/core'
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources'
import { NodeSDK } from '@opentelemetry/sdk-node'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import { errorMessage } from '../errors.js'
import { createLogger, type Logger } from '../logger.js'
import { enableTracing, tracingProblemLog } from './tracing.js'

/** How long the last spans may take to leave when the process ends: an absent collector must not hold it. */
const FLUSH_WITHIN_MS = 3_000
/** A collector that stays away is reported again after this long, not on every export. */
const WARN_AGAIN_AFTER_MS = 10 * 60_000

/**
 * Starts the OpenTelemetry SDK for traces only, configured by the standard OTEL_* variables
 * (exporter, endpoint, headers, protocol, sampler, resource attributes); the service is `coinpipe`
 * unless OTEL_SERVICE_NAME says otherwise. Metrics stay Prometheus (`GET /metrics`) and logs stay
 * pino's. The last spans are flushed when the process runs out of work, within FLUSH_WITHIN_MS.
 */
export function startTelemetry(version: string): void {
  const sdk = new NodeSDK({
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'coinpipe', [ATTR_SERVICE_VERSION]: version }),
    ),
    metricReaders: [],
    logRecordProcessors: [],
  })
  sdk.start()
  // Failed exports end up here (the SDK's default handler is silent unless OTEL_LOG_LEVEL is set).
  setGlobalErrorHandler((error) => warnOnce(error))
  enableTracing(api, version)
  // Every exit path of a command that ends by itself (etl run, serve and worker after SIGTERM) runs
  // out of work; `process.exit` paths (a forced shutdown) lose the spans not yet sent.
  process.once('beforeExit', () => void flushAndStop(sdk))
}

async function flushAndStop(sdk: NodeSDK): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const outcome = await Promise.race([
    sdk.shutdown().then(
      () => 'flushed' as const,
      (error: unknown) => error,
    ),
    new Promise<'timed out'>((resolve) => (timer = setTimeout(resolve, FLUSH_WITHIN_MS, 'timed out'))),
  ])
  clearTimeout(timer)
  if (outcome === 'flushed') return
  warnOnce(outcome === 'timed out' ? new Error(`no answer within ${FLUSH_WITHIN_MS} ms`) : outcome)
  // The exporter's retries (timers and sockets) would keep the process alive for seconds more, with
  // nothing else left to do: the command's outcome is already settled, and so is its exit code.
  if (outcome === 'timed out') process.exit()
}

let warnedAtMs = -Infinity
let fallbackLog: Logger | undefined

function warnOnce(error: unknown): void {
  const nowMs = performance.now()
  if (nowMs - warnedAtMs < WARN_AGAIN_AFTER_MS) return
  warnedAtMs = nowMs
  const log = tracingProblemLog() ?? (fallbackLog ??= createLogger('warn', { fd: 2 }))
  log.warn(
    { error: errorMessage(error) },
    'traces could not be exported (is the OTLP collector reachable?); spans are dropped meanwhile',
  )
}
