import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import {
  getRawBatch,
  getRawBatchInfo,
  type RawBatchInfo,
} from '../../db/repositories/raw-batch-repository.js'
import { replayBatch } from '../../pipeline/replay.js'
import type { ApiDeps } from '../build-app.js'
import { parseJsonObject } from '../json-object.js'
import { IdParam, JsonObject, Nullable, Problem, RunItem, scopeSecurity, StringEnum } from '../schemas.js'
import { toRunItem } from './run-routes.js'

const BatchId = Type.Object({ id: IdParam }, { additionalProperties: false })

const BatchItem = Type.Object({
  id: Type.Integer(),
  run_id: Nullable(Type.Integer()),
  source: Type.String(),
  stream: Type.String(),
  status: StringEnum(['pending', 'loaded', 'failed'] as const),
  row_count: Type.Integer(),
  payload_sha256: Type.String(),
  meta: Nullable(JsonObject),
  cursor_before: Nullable(JsonObject),
  cursor_after: Nullable(JsonObject),
  error_code: Nullable(Type.String()),
  error_message: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  loaded_at: Nullable(Type.String({ format: 'date-time' })),
  added_by: Nullable(
    Type.String({ description: 'who posted it (POST /api/v1/records); null for batches a run fetched' }),
  ),
  payload: Type.Optional(
    Type.String({ description: 'the raw payload as received; only with include=payload' }),
  ),
})

const ReplayResult = Type.Object({
  batch_id: Type.Integer(),
  outcome: StringEnum(['loaded', 'already_loaded', 'failed'] as const),
  run: Type.Optional(RunItem),
  error_code: Type.Optional(Type.String()),
  error_message: Type.Optional(Type.String()),
})

/** Raw batches as stored, and replaying one from its raw payload without the network. */
export function batchRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/v1/batches/:id',
      {
        schema: {
          tags: ['data quality'],
          summary: 'One raw batch: status, counts and cursors; the payload only with include=payload',
          params: BatchId,
          querystring: Type.Object(
            { include: Type.Optional(StringEnum(['payload'] as const)) },
            { additionalProperties: false },
          ),
          response: { 200: BatchItem, 400: Problem, 404: Problem },
        },
      },
      async (request): Promise<Static<typeof BatchItem>> => {
        const { id } = request.params
        if (request.query.include === 'payload') {
          const batch = await getRawBatch(deps.db.kysely, id)
          return { ...toBatchItem(batch), payload: batch.payload }
        }
        return toBatchItem(await getRawBatchInfo(deps.db.kysely, id))
      },
    )

    app.post(
      '/api/v1/batches/:id/replay',
      {
        onRequest: deps.requireScope('runs:write'),
        schema: {
          tags: ['data quality'],
          summary: 'Transform and load a stored batch again from its raw payload (409 while its source runs)',
          security: scopeSecurity('runs:write'),
          params: BatchId,
          response: {
            200: ReplayResult,
            400: Problem,
            401: Problem,
            403: Problem,
            404: Problem,
            409: Problem,
          },
        },
      },
      async (request): Promise<Static<typeof ReplayResult>> => {
        const result = await replayBatch(deps.pipeline, request.params.id, {
          startedBy: deps.actorOf(request) ?? null,
        })
        return {
          batch_id: result.batchId,
          outcome: result.outcome,
          ...(result.run ? { run: toRunItem(result.run) } : {}),
          ...(result.errorCode === undefined ? {} : { error_code: result.errorCode }),
          ...(result.errorMessage === undefined ? {} : { error_message: result.errorMessage }),
        }
      },
    )
  }
}

function toBatchItem(batch: RawBatchInfo): Static<typeof BatchItem> {
  return {
    id: batch.id,
    run_id: batch.runId,
    source: batch.source,
    stream: batch.stream,
    status: batch.status,
    row_count: batch.rowCount,
    payload_sha256: batch.payloadSha256,
    meta: parseJsonObject(batch.meta),
    cursor_before: parseJsonObject(batch.cursorBefore),
    cursor_after: parseJsonObject(batch.cursorAfter),
    error_code: batch.errorCode,
    error_message: batch.errorMessage,
    created_at: batch.createdAt,
    loaded_at: batch.loadedAt,
    added_by: batch.addedBy,
  }
}
