import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from 'typebox'
import {
  countRecords,
  findRecord,
  listRecordPage,
  type RecordWithSymbol,
} from '../../db/repositories/record-repository.js'
import { NotFoundError } from '../../errors.js'
import { csvStream, sameNamedColumns } from '../../export/csv-stream.js'
import { readRecordChunks, RECORD_EXPORT_FIELDS } from '../../export/record-chunks.js'
import { addRecord } from '../../pipeline/add-record.js'
import { answerFormat, FormatParam, sendCsvAttachment } from '../answer-format.js'
import type { ApiDeps } from '../build-app.js'
import { responseMeta, type ReplyTiming } from '../meta.js'
import { decodeCursor, encodeCursor } from '../page-cursor.js'
import {
  CursorParam,
  IdParam,
  Meta,
  Page,
  Problem,
  RecordDetail,
  RecordItem,
  scopeSecurity,
  SourceParam,
  StringEnum,
  TimeParam,
} from '../schemas.js'
import { parseTimeParam } from '../time-param.js'

const RecordQuery = Type.Object(
  {
    asset: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'canonical asset id' })),
    symbol: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    source: Type.Optional(SourceParam),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    // No schema default: the JSON page defaults to 100 rows, a CSV answer to every matching row.
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description:
          'page size, 1–1000 (default 100); with format=csv, at most this many rows (default: all)',
      }),
    ),
    cursor: Type.Optional(CursorParam),
    order: Type.Optional(StringEnum(['desc', 'asc'] as const, { default: 'desc' })),
    include_total: Type.Optional(Type.Boolean({ default: false })),
    format: Type.Optional(FormatParam),
  },
  { additionalProperties: false },
)

type RecordQuery = Static<typeof RecordQuery>

const RecordPage = Type.Object({ data: Type.Array(RecordItem), page: Page, meta: Meta })

const RECORD_CSV_COLUMNS = sameNamedColumns(RECORD_EXPORT_FIELDS)

const RecordCsv = Type.String({
  description:
    "format=csv or Accept: text/csv: a header row naming the JSON items' fields, then every matching record (at most `limit` when given; `include_total` does not apply), streamed; an empty field is null",
})

/** The filters a records query names, as the repository takes them; a bad time is a 400 naming it. */
function recordFilter(query: RecordQuery) {
  return {
    assetId: query.asset,
    symbol: query.symbol?.trim().toUpperCase(),
    source: query.source,
    from: query.from === undefined ? undefined : parseTimeParam('from', query.from),
    to: query.to === undefined ? undefined : parseTimeParam('to', query.to),
  }
}

/** The keyset position a records cursor continues after. */
function recordCursor(query: RecordQuery, order: 'asc' | 'desc') {
  if (query.cursor === undefined) return undefined
  const [observedAt, id] = decodeCursor(query.cursor, order, ['time', 'id'] as const)
  return { observedAt, id }
}

/** `number | null` as one JSON type list: an out-of-range value is refused, never read as null. */
const OptionalNumber = (type: 'number' | 'integer', options: { minimum?: number; maximum?: number } = {}) =>
  Type.Optional(Type.Unsafe<number | null>({ type: [type, 'null'], ...options }))

const NewRecordBody = Type.Object(
  {
    symbol: Type.String({ minLength: 1, maxLength: 32 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    asset_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    source: Type.Optional(SourceParam),
    observed_at: Type.String({ minLength: 1, maxLength: 40 }),
    price_usd: Type.Number({ minimum: 0 }),
    market_cap_usd: OptionalNumber('number', { minimum: 0 }),
    volume_24h_usd: OptionalNumber('number', { minimum: 0 }),
    change_24h_pct: OptionalNumber('number'),
    // PostgreSQL's integer column: a larger rank would fail the insert.
    rank: OptionalNumber('integer', { minimum: 1, maximum: 2_147_483_647 }),
    circulating_supply: OptionalNumber('number', { minimum: 0 }),
    total_supply: OptionalNumber('number', { minimum: 0 }),
    max_supply: OptionalNumber('number', { minimum: 0 }),
  },
  { additionalProperties: false },
)

/** Records: the time series, read by keyset pages and written one at a time by hand. */
export function recordRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    const listSchema = {
      tags: ['records'],
      summary: 'List records, newest first, by keyset pages',
      querystring: RecordQuery,
      response: {
        200: {
          description: 'one page as JSON, or every matching record as CSV',
          content: { 'application/json': { schema: RecordPage }, 'text/csv': { schema: RecordCsv } },
        },
        400: Problem,
      },
    }
    // A page's rows come from the database with exactly the item's fields (listRecordPage names
    // them), so nothing unexpected can leak; plain JSON.stringify beats the schema-compiled
    // serializer on these number-heavy rows.
    const serializerCompiler = () => (data: unknown) => JSON.stringify(data)
    const list = async (query: RecordQuery, reply: ReplyTiming) => {
      const order = query.order ?? 'desc'
      const limit = query.limit ?? 100
      const filter = recordFilter(query)
      const rows = await listRecordPage(deps.db.kysely, {
        ...filter,
        limit: limit + 1,
        order,
        after: recordCursor(query, order),
      })
      const more = rows.length > limit
      const data: Static<typeof RecordItem>[] = more ? rows.slice(0, limit) : rows
      const last = data.at(-1)
      const total = query.include_total ? await countRecords(deps.db.kysely, filter) : undefined
      return {
        data,
        page: {
          limit,
          next_cursor: more && last ? encodeCursor([last.observed_at, last.id], order) : null,
          total,
        },
        meta: responseMeta(reply),
      }
    }
    /**
     * Every matching record (or `limit` of them) in keyset chunks, streamed as CSV. Filters and
     * cursor are read before anything is sent, so a bad one is still a 400; a failure after the
     * first chunk went out can only cut the response, which Fastify logs.
     */
    const sendCsv = (query: RecordQuery, reply: FastifyReply): undefined => {
      const order = query.order ?? 'desc'
      const chunks = readRecordChunks(deps.db.kysely, {
        ...recordFilter(query),
        order,
        after: recordCursor(query, order),
        limit: query.limit,
      })
      void sendCsvAttachment(reply, 'records.csv', csvStream(RECORD_CSV_COLUMNS, chunks))
      return undefined
    }
    // Not async: the JSON path stays one promise, and a throw in sendCsv reaches the error handler.
    const answer = (query: RecordQuery, headers: FastifyRequest['headers'], reply: FastifyReply) =>
      answerFormat(query.format, headers.accept) === 'csv' ? sendCsv(query, reply) : list(query, reply)
    app.get('/api/v1/records', { schema: listSchema, serializerCompiler }, (request, reply) =>
      answer(request.query, request.headers, reply),
    )
    app.get(
      '/data',
      { schema: { ...listSchema, summary: 'Alias of GET /api/v1/records' }, serializerCompiler },
      (request, reply) => answer(request.query, request.headers, reply),
    )

    app.get(
      '/api/v1/records/:id',
      {
        schema: {
          tags: ['records'],
          summary: 'One record by id',
          params: Type.Object({ id: IdParam }),
          response: { 200: RecordDetail, 404: Problem },
        },
      },
      async (request) => {
        const record = await findRecord(deps.db.kysely, request.params.id)
        if (!record) throw new NotFoundError('record', request.params.id)
        return toRecordDetail(record)
      },
    )

    app.post(
      '/api/v1/records',
      {
        onRequest: deps.requireScope('records:write'),
        bodyLimit: 16_384,
        // Bodies are checked as sent; the app's Ajv coerces types (`true` → 1, 0 → null), fit for query strings only.
        validatorCompiler: TypeBoxValidatorCompiler,
        schema: {
          tags: ['records'],
          summary: 'Add one record (201), repeat it (200), or conflict with a stored one (409)',
          security: scopeSecurity('records:write'),
          body: NewRecordBody,
          response: {
            200: RecordDetail,
            201: RecordDetail,
            400: Problem,
            401: Problem,
            403: Problem,
            409: Problem,
          },
        },
      },
      async (request, reply) => {
        const body = request.body
        const { outcome, record } = await addRecord(
          deps.pipeline,
          {
            symbol: body.symbol,
            name: body.name,
            assetId: body.asset_id,
            source: body.source ?? 'manual',
            observedAt: body.observed_at,
            priceUsd: body.price_usd,
            marketCapUsd: body.market_cap_usd,
            volume24hUsd: body.volume_24h_usd,
            change24hPct: body.change_24h_pct,
            rank: body.rank,
            circulatingSupply: body.circulating_supply,
            totalSupply: body.total_supply,
            maxSupply: body.max_supply,
          },
          { addedBy: deps.actorOf(request) ?? null },
        )
        if (outcome === 'created') reply.status(201).header('location', `/api/v1/records/${record.id}`)
        return toRecordDetail(record)
      },
    )
  }
}

export function toRecordDetail(r: RecordWithSymbol): Static<typeof RecordDetail> {
  return {
    id: r.id,
    asset_id: r.assetId,
    symbol: r.symbol,
    source: r.source,
    observed_at: r.observedAt,
    price_usd: r.priceUsd,
    market_cap_usd: r.marketCapUsd,
    volume_24h_usd: r.volume24hUsd,
    change_24h_pct: r.change24hPct,
    rank: r.rank,
    circulating_supply: r.circulatingSupply,
    total_supply: r.totalSupply,
    max_supply: r.maxSupply,
    run_id: r.runId,
    raw_batch_id: r.rawBatchId,
    loaded_at: r.loadedAt,
    added_by: r.addedBy,
  }
}
