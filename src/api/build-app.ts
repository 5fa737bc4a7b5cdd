import { randomUUID } from 'node:crypto'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type onRequestHookHandler,
  type RawServerDefault,
} from 'fastify'
import type { Redis } from 'ioredis'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApiScope, CompareThresholds, Config } from '../config.js'
import type { Db } from '../db/database.js'
import { createInProcessScheduler } from '../jobs/scheduler.js'
import type { QueueView, RunStarter } from '../pipeline/run-starter.js'
import { createMetrics } from '../metrics/metrics.js'
import { tracingEnabled } from '../telemetry/tracing.js'
import type { PipelineContext } from '../pipeline/pipeline-context.js'
import { createAuthenticator, guardReads } from './authenticator.js'
import type { JwksOptions } from './jwt-verifier.js'
import { answerFrameworkError, registerErrorHandler } from './error-handler.js'
import { assetRemapRoutes } from './routes/asset-remap-routes.js'
import { backfillRoutes } from './routes/backfill-routes.js'
import { assetRoutes } from './routes/asset-routes.js'
import { batchRoutes } from './routes/batch-routes.js'
import { candleRoutes } from './routes/candle-routes.js'
import { dashboardRoutes } from './routes/dashboard-routes.js'
import { healthRoutes } from './routes/health-routes.js'
import { metricsRoutes } from './routes/metrics-routes.js'
import { recordRoutes } from './routes/record-routes.js'
import { rejectionRoutes } from './routes/rejection-routes.js'
import { runRoutes } from './routes/run-routes.js'
import { schemaChangeRoutes } from './routes/schema-change-routes.js'
import { statsRoutes } from './routes/stats-routes.js'
import { registerSecurity, trustProxyOption } from './security.js'

/** What route plugins get: the pipeline's doors, never the config or the environment. */
export interface ApiDeps {
  readonly db: Db
  readonly pipeline: PipelineContext
  readonly enabledSources: readonly string[]
  /** An onRequest hook: the request's API key or token must grant `scope` (401/403 otherwise). */
  readonly requireScope: (scope: ApiScope) => onRequestHookHandler
  /** Who made a request that passed `requireScope` (`key:…`, `jwt:…`), stored with what it writes. */
  readonly actorOf: (request: FastifyRequest) => string | undefined
  /** Starts runs for `POST /api/v1/runs`: the scheduler, so API and cron share one "one run per source" guard. */
  readonly runs: RunStarter
  /** Queue mode: the queue, for queued runs in the history and the queue's health. */
  readonly queue: QueueView | undefined
  readonly compareThresholds: CompareThresholds
  /** `GET /api/v1/assets/{id}` leaves out of the consensus a source trailing the asset's newest observation by more. */
  readonly assetStaleAfterMs: number
}

export interface BuildAppOptions {
  /** Defaults to an in-process scheduler that only runs on demand and stops when the app closes. */
  readonly runs?: RunStarter
  /** Queue mode (`serve` with REDIS_URL): what the API shows of the queue. */
  readonly queue?: QueueView
  /** Queue mode: where the inbound rate limit counts, shared by every API replica. */
  readonly redis?: Redis
  /** How AUTH_JWKS_URL is cached and fetched (tests shorten it). */
  readonly jwks?: JwksOptions
}

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

/** How long closing the app waits for runs it started to commit their batch in flight. */
const SHUTDOWN_RUN_TIMEOUT_MS = 25_000

const REQUEST_ID = /^[\w.:-]{1,128}$/

/** The whole HTTP API as a Fastify instance that does not listen: tests inject, `serve` listens. */
export async function buildApp(
  config: Config,
  context: PipelineContext,
  options: BuildAppOptions = {},
): Promise<App> {
  // Runs the API starts count into the registry it serves; `serve` passes the one its source
  // registry and scheduler already count into.
  const metrics = context.metrics ?? createMetrics({ db: context.db })
  const pipeline: PipelineContext = { ...context, metrics }
  // Typed as Fastify's logger so the instance keeps Fastify's default logger type parameter.
  const loggerInstance: FastifyBaseLogger = pipeline.log
  const app = Fastify({
    loggerInstance,
    // One 'request completed' line per request, written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: (request) => {
      const given = request.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    bodyLimit: config.http.bodyLimitBytes,
    // Off unless TRUST_PROXY says which proxies may name the client (rate limits key on request.ip).
    trustProxy: trustProxyOption(config.http.trustProxy),
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: answerFrameworkError,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Tracing on: a span per request, hooked in first so that every other hook runs inside it.
  if (tracingEnabled()) (await import('../telemetry/request-spans.js')).traceRequests(app)
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id)
    done()
  })
  const auth = createAuthenticator(config, { jwks: options.jwks })
  const infoEnabled = pipeline.log.isLevelEnabled('info')
  app.addHook('onResponse', (request, reply, done) => {
    const elapsedMs = reply.elapsedTime
    // Built only when written: at LOG_LEVEL=warn a request costs no log object.
    if (infoEnabled)
      request.log.info(
        {
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          durationMs: Math.round(elapsedMs * 100) / 100,
          // Who, for a request whose credential was checked (`key:…`, `jwt:…`): an access log names its caller.
          actor: auth.actorOf(request),
        },
        'request completed',
      )
    // The route pattern, never the raw URL, keeps the label set bounded.
    metrics.observeHttpRequest(request.method, request.routeOptions.url, reply.statusCode, elapsedMs / 1000)
    done()
  })
  if (!context.metrics)
    app.addHook('onClose', (_instance, done) => {
      metrics.close()
      done()
    })
  registerErrorHandler(app)
  await registerSecurity(app, config.http, auth.identify, {
    redis: options.redis,
    prefix: config.queue.prefix,
  })
  if (config.api.readKeysRequired) app.addHook('onRoute', guardReads(auth))

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'coinpipe',
        version: '1',
        description:
          'Crypto market data from CoinGecko, CoinPaprika and CSV files, unified per asset. Errors are application/problem+json.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT or API key',
            description:
              'A JWT from the identity provider (AUTH_JWKS_URL or AUTH_JWT_SECRET; scopes in its scope or scp claim), or a key from API_KEYS',
          },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'A key from API_KEYS' },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger())

  let runs = options.runs
  if (!runs) {
    const onDemand = createInProcessScheduler(pipeline, { sources: [], schedules: {}, runOnStart: false })
    app.addHook('onClose', () => onDemand.stop(SHUTDOWN_RUN_TIMEOUT_MS))
    runs = onDemand
  }
  const deps: ApiDeps = {
    db: pipeline.db,
    pipeline,
    enabledSources: config.sources.enabled,
    requireScope: auth.requireScope,
    actorOf: auth.actorOf,
    runs,
    queue: options.queue,
    compareThresholds: config.etl.compare,
    assetStaleAfterMs: config.assets.staleAfterMs,
  }
  await app.register(recordRoutes(deps))
  await app.register(assetRoutes(deps))
  await app.register(candleRoutes(deps))
  await app.register(assetRemapRoutes(deps))
  await app.register(rejectionRoutes(deps))
  await app.register(runRoutes(deps))
  await app.register(backfillRoutes(deps))
  await app.register(statsRoutes(deps))
  await app.register(schemaChangeRoutes(deps))
  await app.register(batchRoutes(deps))
  await app.register(healthRoutes(deps))
  await app.register(metricsRoutes(metrics))
  await app.register(dashboardRoutes())
  return app
}
