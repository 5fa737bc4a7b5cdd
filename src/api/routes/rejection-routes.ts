import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { listRejections, summarizeRejections } from '../../db/repositories/rejection-repository.js'
import type { ApiDeps } from '../build-app.js'
import { responseMeta } from '../meta.js'
import { parseTimeParam } from '../time-param.js'
import { idCursorBefore, pageNewestFirst } from '../page-cursor.js'
import {
  CursorParam,
  IdParam,
  LimitParam,
  Meta,
  Nullable,
  Page,
  Problem,
  SourceParam,
  TimeParam,
} from '../schemas.js'

const RejectionItem = Type.Object({
  id: Type.Integer(),
  run_id: Nullable(Type.Integer()),
  raw_batch_id: Nullable(Type.Integer()),
  source: Type.String(),
  line: Nullable(Type.Integer()),
  reason_code: Type.String(),
  message: Type.String(),
  raw: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
})

/** Rows the pipeline refused, each with its line, reason and raw text, newest first. */
export function rejectionRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/v1/rejections/reasons',
      {
        schema: {
          tags: ['data quality'],
          summary:
            'How many rows were rejected per source and reason (since `from`, rejected at or after it), most frequent first',
          querystring: Type.Object(
            {
              source: Type.Optional(SourceParam),
              from: Type.Optional(TimeParam),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              data: Type.Array(
                Type.Object({
                  source: Type.String(),
                  reason_code: Type.String(),
                  count: Type.Integer(),
                  last_rejected_at: Type.String({ format: 'date-time' }),
                }),
              ),
              meta: Meta,
            }),
            400: Problem,
          },
        },
      },
      async (request, reply) => {
        const rows = await summarizeRejections(deps.db.kysely, {
          source: request.query.source,
          sinceIso: request.query.from === undefined ? undefined : parseTimeParam('from', request.query.from),
        })
        return {
          data: rows.map((r) => ({
            source: r.source,
            reason_code: r.reasonCode,
            count: r.count,
            last_rejected_at: r.lastAt,
          })),
          meta: responseMeta(reply),
        }
      },
    )

    app.get(
      '/api/v1/rejections',
      {
        schema: {
          tags: ['data quality'],
          summary: 'Rejected rows, filtered by run, source or batch',
          querystring: Type.Object(
            {
              run_id: Type.Optional(IdParam),
              batch_id: Type.Optional(IdParam),
              source: Type.Optional(SourceParam),
              limit: Type.Optional(LimitParam),
              cursor: Type.Optional(CursorParam),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ data: Type.Array(RejectionItem), page: Page, meta: Meta }),
            400: Problem,
          },
        },
      },
      async (request, reply) => {
        const { run_id, batch_id, source, cursor } = request.query
        const limit = request.query.limit ?? 100
        const beforeId = idCursorBefore(cursor)
        const rows = await listRejections(deps.db.kysely, {
          runId: run_id,
          rawBatchId: batch_id,
          source,
          beforeId,
          limit: limit + 1,
        })
        const { rows: page, page: pageInfo } = pageNewestFirst(rows, limit)
        return {
          data: page.map((r) => ({
            id: r.id,
            run_id: r.runId,
            raw_batch_id: r.rawBatchId,
            source: r.source,
            line: r.line,
            reason_code: r.reasonCode,
            message: r.message,
            raw: r.raw,
            created_at: r.createdAt,
          })),
          page: pageInfo,
          meta: responseMeta(reply),
        }
      },
    )
  }
}
