import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { BACKFILL_SOURCES, MAX_BACKFILL_ASSETS } from '../../pipeline/backfill.js'
import type { ApiDeps } from '../build-app.js'
import { Problem, RunItem, scopeSecurity, StringEnum } from '../schemas.js'
import { toQueuedItem, toRunItem } from './run-routes.js'

const TIME_FORMS = 'ISO 8601 date or date-time (UTC when no zone), or Unix seconds/milliseconds'

const BackfillBody = Type.Object(
  {
    source: StringEnum(BACKFILL_SOURCES, { description: 'the history upstream' }),
    assets: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: MAX_BACKFILL_ASSETS,
        description: "the source's own asset ids (bitcoin, btc-bitcoin) or canonical asset ids",
      }),
    ),
    top: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_BACKFILL_ASSETS,
        description: 'also the first N assets by market cap now',
      }),
    ),
    from: Type.String({ maxLength: 40, description: `start, inclusive: ${TIME_FORMS}` }),
    to: Type.Optional(
      Type.String({ maxLength: 40, description: `end, exclusive; default now: ${TIME_FORMS}` }),
    ),
  },
  { additionalProperties: false },
)

/**
 * `POST /api/v1/backfills`: fills the past of some assets from a source's history, as a run with
 * trigger `backfill` (in `GET /api/v1/runs`, `?trigger=backfill`), beside the source's snapshot
 * runs; a job for the workers in queue mode.
 */
export function backfillRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.post(
      '/api/v1/backfills',
      {
        onRequest: deps.requireScope('runs:write'),
        bodyLimit: 64 * 1024,
        // Bodies are checked as sent; the app's Ajv coerces types, fit for query strings only.
        validatorCompiler: TypeBoxValidatorCompiler,
        schema: {
          tags: ['runs'],
          summary:
            "Backfill assets' history from an upstream (202 with the run); 409 while a backfill of that source runs",
          description:
            'Windows at the finest granularity the upstream gives (5-minute for the last day; hourly or daily before), each stored raw with its own checkpoint, so a repeat reads only what is missing. A range beyond the plan ends the run partial with HISTORY_OUT_OF_RANGE; ids the upstream does not know end it failed with BACKFILL_ASSET_UNKNOWN.',
          security: scopeSecurity('runs:write'),
          body: BackfillBody,
          response: { 202: RunItem, 400: Problem, 401: Problem, 403: Problem, 409: Problem, 503: Problem },
        },
      },
      async (request, reply) => {
        const { source, assets = [], top, from, to } = request.body
        const started = await deps.runs.startBackfill(
          { source, assets, top, from, to },
          deps.actorOf(request) ?? null,
        )
        if ('queued' in started) {
          reply.status(202)
          return toQueuedItem(started.queued)
        }
        reply.status(202).header('location', `/api/v1/runs/${started.run.id}`)
        return toRunItem(started.run)
      },
    )
  }
}
