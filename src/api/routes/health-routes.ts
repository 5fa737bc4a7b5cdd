import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { listLatestRunPerSource } from '../../db/repositories/run-repository.js'
import type { EtlRunRow } from '../../db/schema.js'
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
  checked_at: Type.String(),
})

/**
 * How long the health check waits for the database. Well under a probe's own timeout (the container
 * HEALTHCHECK allows 5 s), so an outage, or a connection that hangs, answers `down` rather than nothing.
 */
const DATABASE_PROBE_TIMEOUT_MS = 2000

/** Liveness and readiness in one: 503 only when the database cannot be reached. */
export function healthRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/health',
      {
        schema: {
          tags: ['operations'],
          summary: 'ok, degraded (a source’s last run failed) or down (database unreachable, 503)',
          response: { 200: Health, 503: Health },
        },
      },
      async (_request, reply) => {
        const started = performance.now()
        let runs: EtlRunRow[] = []
        let error: string | undefined
        try {
          await deps.db.ping(DATABASE_PROBE_TIMEOUT_MS)
          runs = await withTimeout(listLatestRunPerSource(deps.db.kysely), DATABASE_PROBE_TIMEOUT_MS)
        } catch (cause) {
          error = 'database unreachable'
          reply.log.warn({ err: cause }, 'health check cannot reach the database')
        }
        const latency = Math.round((performance.now() - started) * 100) / 100
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
          : sources.some((s) => s.enabled && s.last_run?.status === 'failed')
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
          checked_at: new Date().toISOString(),
        }
      },
    )
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
