import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { RECORD_SOURCES } from '../../config.js'
import { CANDLE_INTERVALS } from '../../domain/candle-buckets.js'
import { nowIso } from '../../pipeline/pipeline-context.js'
import type { ApiDeps } from '../build-app.js'
import {
  DEFAULT_CANDLE_INTERVAL,
  candlePages,
  getCandleJson,
  type CandleItem as CandleRow,
  MAX_CANDLE_BUCKETS,
  parseCandleRequest,
} from '../candle-rows.js'
import { csvStream, sameNamedColumns } from '../../export/csv-stream.js'
import { answerFormat, FormatParam, sendCsvAttachment } from '../answer-format.js'
import { responseMeta } from '../meta.js'
import { Meta, Nullable, Problem, StringEnum } from '../schemas.js'

const CandleQuery = Type.Object(
  {
    interval: Type.Optional(
      StringEnum(CANDLE_INTERVALS, {
        default: DEFAULT_CANDLE_INTERVAL,
        description:
          'bucket width; buckets start at whole UTC minutes, hours and days, weeks on Mondays (ISO 8601)',
      }),
    ),
    from: Type.Optional(
      Type.String({
        maxLength: 40,
        description:
          'buckets that start at or after it: ISO 8601 (UTC when no zone) or Unix seconds/milliseconds; default: to minus 1 day (5m), 30 days (1h), 365 days (1d) or 104 weeks (1w)',
      }),
    ),
    to: Type.Optional(
      Type.String({ maxLength: 40, description: 'buckets that start before it (exclusive); default: now' }),
    ),
    source: Type.Optional(
      StringEnum(RECORD_SOURCES, {
        description: "one source's candles; absent: the consensus, the median across sources per bucket",
      }),
    ),
    fill: Type.Optional(
      StringEnum(['null'] as const, {
        description: 'null: list every bucket of the range, one without observations with null values',
      }),
    ),
    format: Type.Optional(FormatParam),
  },
  { additionalProperties: false },
)

const CandleItem = Type.Object({
  bucket: Type.String({ format: 'date-time', description: "the bucket's start" }),
  open: Nullable(Type.Number({ description: 'first price of the bucket' })),
  high: Nullable(Type.Number()),
  low: Nullable(Type.Number()),
  close: Nullable(Type.Number({ description: 'last price of the bucket' })),
  market_cap_usd: Nullable(Type.Number({ description: 'the last market cap of the bucket (a level)' })),
  volume_24h_usd: Nullable(
    Type.Number({
      description:
        'the last 24-hour volume of the bucket: sources report a rolling 24 h sum, so adding them up would count each trade many times',
    }),
  ),
  points: Type.Integer({ description: 'observations with a price in the bucket, of every source counted' }),
  sources: Type.Array(Type.String(), { description: 'the sources with observations in the bucket' }),
})

const CANDLE_CSV_COLUMNS = sameNamedColumns<CandleRow>([
  'bucket',
  'open',
  'high',
  'low',
  'close',
  'market_cap_usd',
  'volume_24h_usd',
  'points',
  'sources',
])

const CandleMeta = Type.Object({
  ...Meta.properties,
  asset_id: Type.String(),
  interval: StringEnum(CANDLE_INTERVALS),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time', description: 'the next page by time starts here' }),
  source: Nullable(Type.String({ description: 'null: the consensus of every source' })),
})

/** OHLC candles of one asset's price, per source or of the consensus, computed in SQL. */
export function candleRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/v1/assets/:id/candles',
      {
        // The JSON answer is printed by the handler (candle-rows.ts builds the items field by field,
        // so nothing unexpected can leak, and joins the rollup's stored ones); problems are objects.
        serializerCompiler: () => (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data)),
        schema: {
          tags: ['assets'],
          summary: "OHLC candles of an asset's price, per source or of the consensus",
          description:
            'Buckets that start in [from, to), oldest first, each computed over its whole bucket: open and ' +
            'close are the first and last price, high and low the extremes, market cap and 24-hour volume ' +
            'the last values. Without source, each value is the median across the sources of the bucket. ' +
            `A bucket without observations is left out (fill=null lists it with nulls). At most ${MAX_CANDLE_BUCKETS.toLocaleString('en-US')} ` +
            'buckets in one answer: page by time, from the previous answer’s meta.to.',
          params: Type.Object(
            { id: Type.String({ minLength: 1, maxLength: 200, description: 'canonical asset id' }) },
            { additionalProperties: false },
          ),
          querystring: CandleQuery,
          response: {
            200: {
              description: 'the candles as JSON, or as CSV (format=csv or Accept: text/csv)',
              content: {
                'application/json': {
                  schema: Type.Object({ data: Type.Array(CandleItem), meta: CandleMeta }),
                },
                'text/csv': {
                  schema: Type.String({
                    description: `a header row naming the JSON items' fields, then every candle of the range, streamed a page of ${MAX_CANDLE_BUCKETS.toLocaleString('en-US')} buckets at a time (no bucket cap); sources as a JSON array; an empty field is null`,
                  }),
                },
              },
            },
            400: Problem,
            404: Problem,
          },
        },
      },
      async (request, reply) => {
        const csv = answerFormat(request.query.format, request.headers.accept) === 'csv'
        const candles = parseCandleRequest(
          request.params.id,
          request.query,
          Date.parse(nowIso(deps.pipeline)),
          {
            capped: !csv,
          },
        )
        if (csv) {
          const pages = candlePages(deps.db, candles)
          // The first page is read before anything is sent: an unknown asset is still a 404.
          const first = await pages.next()
          const rest = async function* () {
            if (!first.done) yield first.value
            yield* pages
          }
          return sendCsvAttachment(
            reply,
            `${candles.assetId}-${candles.interval}.csv`,
            csvStream(CANDLE_CSV_COLUMNS, rest()),
          )
        }
        const data = await getCandleJson(deps.db, candles)
        const meta = {
          ...responseMeta(reply),
          asset_id: candles.assetId,
          interval: candles.interval,
          from: candles.from,
          to: candles.to,
          source: candles.source ?? null,
        }
        return reply
          .type('application/json; charset=utf-8')
          .send(`{"data":${data},"meta":${JSON.stringify(meta)}}`)
      },
    )
  }
}
