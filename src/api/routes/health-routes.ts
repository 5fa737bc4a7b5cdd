import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { listLatestRunPerSource } from '../../db/repositories/run-repository.js'
import { FINISHED_RUN_STATUSES } from '../../domain/run.js'
import { withTimeout } from '../../with-timeout.js'
import type { EtlRunRow } from '../../db/schema.js'
import { errorMessage } from '../../errors.js'
import type { QueueView } from '../../pipeline/run-starter.js'
import type { ApiDeps } from '../build-app.js'
import { Nullable } from '../schemas.js'

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  database: Type.Object({
    kind: Type.String(),
    reachable: Type.Boolean(),
    latency_ms: Nullable(Type.Number()),
    error: Type.Optional(Type.String()),
  }),
  sources: Type.Array(
    Type.Object({
      source: Type.String(),
      enabled: Type.Boolean(),
      last_run: Nullable(
        Type.Object({
          id: Type.Integer(),
          status: Type.String(),
          started_at: Type.String(),
          finished_at: Nullable(Type.String()),
          error_code: Nullable(Type.String()),
        }),
      ),
    }),
  ),
  queue: Type.Optional(
    Type.Object(
      {
        status: Type.Union([Type.Literal('ok'), Type.Literal('down')]),
        latency_ms: Nullable(Type.Number()),
        error: Type.Optional(Type.String()),
        workers: Type.Array(
          Type.Object({
            id: Type.String({ description: 'host:pid' }),
            last_seen_at: Type.String({ format: 'date-time' }),
            running: Type.Array(Type.String(), { description: 'sources it runs now' }),
          }),
          { description: 'workers whose heartbeat is at most a minute old' },
        ),
      },
      { description: 'queue mode only (REDIS_URL set): Redis and the workers seen in the last minute' },
    ),
  ),
  checked_at: Type.String(),
})

type QueueHealth = NonNullable<Static<typeof Health>['queue']>

/**
 * How long the health check waits for the database. Well under a probe's own timeout (the container
 * HEALTHCHECK allows 5 s), so an outage, or a connection that hangs, answers `down` rather than nothing.
 */
const DATABASE_PROBE_TIMEOUT_MS = 2000
/** The same bound for Redis in queue mode. */
const QUEUE_PROBE_TIMEOUT_MS = 1000
/** A worker is listed while its heartbeat (every 15 s) is at most this old. */
const WORKER_WINDOW_MS = 60_000

/** Liveness and readiness in one: 503 only when the database cannot be reached. */
export function healthRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/health',
      {
        schema: {
          tags: ['operations'],
          summary:
            'ok, degraded (a source’s last run failed; in queue mode, Redis down or no worker seen) or down (database unreachable, 503)',
          response: { 200: Health, 503: Health },
        },
      },
      async (_request, reply) => {
        const started = performance.now()
        let runs: EtlRunRow[] = []
        let error: string | undefined
        try {
          await deps.db.ping(DATABASE_PROBE_TIMEOUT_MS)
          runs = await withTimeout(
            listLatestRunPerSource(deps.db.kysely, ['running', ...FINISHED_RUN_STATUSES]),
            DATABASE_PROBE_TIMEOUT_MS,
          )
        } catch (cause) {
          error = 'database unreachable'
          reply.log.warn({ err: cause }, 'health check cannot reach the database')
        }
        const latency = Math.round((performance.now() - started) * 100) / 100
        const queue = deps.queue ? await queueHealth(deps.queue) : undefined
        const sources = [...new Set([...deps.enabledSources, ...runs.map((r) => r.source)])]
          .sort()
          .map((source) => {
            const run = runs.find((r) => r.source === source)
            return {
              source,
              enabled: deps.enabledSources.includes(source),
              last_run: run
                ? {
                    id: run.id,
                    status: run.status,
                    started_at: run.startedAt,
                    finished_at: run.finishedAt,
                    error_code: run.errorCode,
                  }
                : null,
            }
          })
        const status: 'ok' | 'degraded' | 'down' = error
          ? 'down'
          : sources.some((s) => s.enabled && s.last_run?.status === 'failed') ||
              queue?.status === 'down' ||
              queue?.workers.length === 0
            ? 'degraded'
            : 'ok'
        reply.status(status === 'down' ? 503 : 200)
        return {
          status,
          database: {
            kind: deps.db.kind,
            reachable: !error,
            latency_ms: error ? null : latency,
            ...(error ? { error } : {}),
          },
          sources,
          ...(queue ? { queue } : {}),
          checked_at: new Date().toISOString(),
        }
      },
    )
  }
}

/** Redis answering, and the workers seen within the last minute; `down` when Redis does not answer. */
async function queueHealth(queue: QueueView): Promise<QueueHealth> {
  const started = performance.now()
  try {
    await queue.ping(QUEUE_PROBE_TIMEOUT_MS)
    const latency = Math.round((performance.now() - started) * 100) / 100
    const workers = await withTimeout(queue.workers(WORKER_WINDOW_MS), QUEUE_PROBE_TIMEOUT_MS)
    return {
      status: 'ok',
      latency_ms: latency,
      workers: workers.map((w) => ({ id: w.id, last_seen_at: w.lastSeenAt, running: [...w.running] })),
    }
  } catch (cause) {
    return {
      status: 'down',
      latency_ms: null,
      error: `queue unreachable: ${errorMessage(cause)}`,
      workers: [],
    }
  }
}
