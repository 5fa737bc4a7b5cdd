import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { listSchemaChanges } from '../../db/repositories/schema-change-repository.js'
import type { SchemaChangeRow } from '../../db/schema.js'
import type { SchemaChangeKind } from '../../domain/schema-change.js'
import type { ApiDeps } from '../build-app.js'
import { parseJsonObject } from '../json-object.js'
import { responseMeta } from '../meta.js'
import { idCursorBefore, pageNewestFirst } from '../page-cursor.js'
import {
  CursorParam,
  EtlSourceParam,
  IdParam,
  LimitParam,
  Meta,
  Nullable,
  Page,
  Problem,
  StringEnum,
} from '../schemas.js'

const CHANGE_KINDS = ['added', 'removed', 'retyped', 'renamed'] as const satisfies readonly SchemaChangeKind[]

/** `SchemaChangeDetail` (domain/schema-change.ts) in snake_case; fields added later pass through. */
const SchemaChangeDetail = Type.Object(
  {
    message: Type.String({ description: 'one sentence for a person' }),
    expected: Type.Optional(Type.String({ description: 'the declared type of the field' })),
    actual: Type.Optional(Type.String({ description: 'the JSON type seen in the payload' })),
    renamed_to: Type.Optional(Type.String({ description: 'renamed: the field that probably replaced it' })),
    confidence: Type.Optional(Type.Number({ description: 'renamed: 0–1, how sure the guess is' })),
    items: Type.Optional(
      Type.Object({ affected: Type.Integer(), total: Type.Integer() }, { description: 'items showing it' }),
    ),
  },
  { additionalProperties: true },
)

export const SchemaChangeItem = Type.Object({
  id: Type.Integer(),
  source: Type.String(),
  stream: Type.String(),
  field: Type.String({ description: 'dotted path in one item of the payload' }),
  change: StringEnum(CHANGE_KINDS),
  detail: SchemaChangeDetail,
  run_id: Nullable(Type.Integer()),
  raw_batch_id: Nullable(Type.Integer()),
  detected_at: Type.String({ format: 'date-time' }),
})

/** Upstream payload shapes that drifted from what a source declares, newest first. */
export function schemaChangeRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/v1/schema-changes',
      {
        schema: {
          tags: ['data quality'],
          summary:
            'Fields an upstream added, removed, retyped or renamed, filtered by source, stream, kind or run',
          querystring: Type.Object(
            {
              source: Type.Optional(EtlSourceParam),
              stream: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
              change: Type.Optional(StringEnum(CHANGE_KINDS)),
              run_id: Type.Optional(IdParam),
              limit: Type.Optional(LimitParam),
              cursor: Type.Optional(CursorParam),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ data: Type.Array(SchemaChangeItem), page: Page, meta: Meta }),
            400: Problem,
          },
        },
      },
      async (request, reply) => {
        const { source, stream, change, run_id, cursor } = request.query
        const limit = request.query.limit ?? 100
        const beforeId = idCursorBefore(cursor)
        const rows = await listSchemaChanges(deps.db.kysely, {
          source,
          stream,
          change,
          runId: run_id,
          beforeId,
          limit: limit + 1,
        })
        const { rows: page, page: pageInfo } = pageNewestFirst(rows, limit)
        return {
          data: page.map(toSchemaChangeItem),
          page: pageInfo,
          meta: responseMeta(reply),
        }
      },
    )
  }
}

export function toSchemaChangeItem(row: SchemaChangeRow): Static<typeof SchemaChangeItem> {
  return {
    id: row.id,
    source: row.source,
    stream: row.stream,
    field: row.field,
    change: row.change,
    detail: toDetail(row.detail),
    run_id: row.runId,
    raw_batch_id: row.rawBatchId,
    detected_at: row.detectedAt,
  }
}

/**
 * The stored detail with its keys in snake_case. Text that is not a JSON object, or an object
 * without a message, still answers with a message: the raw text.
 */
function toDetail(text: string): Static<typeof SchemaChangeDetail> {
  const parsed = parseJsonObject(text)
  if (!parsed) return { message: text }
  const detail: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(parsed)) {
    detail[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value
  }
  const { message, expected, actual, renamed_to, confidence, items } = detail
  if (typeof message !== 'string') detail.message = text
  for (const [key, value] of Object.entries({ expected, actual, renamed_to })) {
    if (value !== undefined && typeof value !== 'string') delete detail[key]
  }
  if (confidence !== undefined && typeof confidence !== 'number') delete detail.confidence
  if (items !== undefined && !isItemCount(items)) delete detail.items
  return detail as Static<typeof SchemaChangeDetail>
}

function isItemCount(value: unknown): value is { affected: number; total: number } {
  if (typeof value !== 'object' || value === null) return false
  const { affected, total } = value as Record<string, unknown>
  return Number.isInteger(affected) && Number.isInteger(total)
}
