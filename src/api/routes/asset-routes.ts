import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { findAsset } from '../../db/repositories/asset-repository.js'
import {
  findRemapTargets,
  listAliasesOfAssets,
  listAssetConflicts,
  listAssets,
  listLatestRecordsPerSource,
} from '../../db/repositories/asset-query-repository.js'
import type { AssetConflictRow } from '../../db/schema.js'
import { priceConsensus } from '../../domain/price-consensus.js'
import { AssetNotFoundError } from '../../errors.js'
import { normalizeSymbol } from '../../identity/identity-keys.js'
import type { ConflictReason } from '../../identity/resolve-identities.js'
import { nowIso } from '../../pipeline/pipeline-context.js'
import { DivergenceFields, listDivergentAssets } from '../asset-divergence.js'
import { AssetItem, groupByAsset, toAssetItem } from '../asset-items.js'
import type { ApiDeps } from '../build-app.js'
import { sendProblem } from '../error-handler.js'
import { responseMeta } from '../meta.js'
import { decodeCursor, pageById } from '../page-cursor.js'
import {
  CursorParam,
  LimitParam,
  Meta,
  Nullable,
  Page,
  Problem,
  SourceParam,
  StringEnum,
} from '../schemas.js'

// Records of every key, so adding a reason without listing it here fails to compile.
const CONFLICT_REASONS = Object.keys({
  AMBIGUOUS_CONTRACT: 1,
  AMBIGUOUS_NAME: 1,
  AMBIGUOUS_PRICE: 1,
  AMBIGUOUS_SYMBOL: 1,
  INELIGIBLE_CANDIDATE: 1,
  OVERRIDE_CLASH: 1,
} satisfies Record<ConflictReason, 1>) as ConflictReason[]

const LatestItem = Type.Object({
  source: Type.String(),
  observed_at: Type.String({ format: 'date-time' }),
  age_seconds: Type.Integer({
    description: "seconds since observed_at by our clock (negative: the source's clock is ahead)",
  }),
  price_usd: Nullable(Type.Number()),
  market_cap_usd: Nullable(Type.Number()),
  volume_24h_usd: Nullable(Type.Number()),
  change_24h_pct: Nullable(Type.Number()),
  rank: Nullable(Type.Integer()),
  stale: Type.Boolean({
    description:
      "observed more than ASSET_STALE_AFTER_MS before the asset's newest observation; left out of the consensus",
  }),
})

const AssetDetail = Type.Object({
  ...AssetItem.properties,
  latest: Type.Array(LatestItem, { description: 'the latest record of each source' }),
  consensus_price_usd: Nullable(
    Type.Number({ description: 'median price of the sources that are not stale' }),
  ),
  spread_pct: Nullable(
    Type.Number({
      description: '(max − min) / median × 100 over the same prices, 4 decimals; null with fewer than 2',
    }),
  ),
  stale_sources: Type.Array(Type.String()),
})

const ConflictItem = Type.Object({
  source: Type.String(),
  source_asset_id: Type.String(),
  symbol: Type.String(),
  name: Nullable(Type.String()),
  asset_id: Type.String({ description: 'where the source asset was kept meanwhile: an asset of its own' }),
  reason: StringEnum(CONFLICT_REASONS),
  detail: Type.String({ description: 'one sentence for a person' }),
  candidates: Type.Array(
    Type.Object({
      asset_id: Type.String(),
      source: Type.String(),
      source_asset_id: Type.String(),
      symbol: Type.String(),
      name: Nullable(Type.String()),
      why: Type.String(),
    }),
  ),
  detected_at: Type.String({ format: 'date-time' }),
})

const AssetQuery = Type.Object(
  {
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'case-insensitive part of the id, symbol or name',
      }),
    ),
    symbol: Type.Optional(
      Type.String({ minLength: 1, maxLength: 32, description: 'exact symbol, any case' }),
    ),
    order: Type.Optional(
      StringEnum(['id', 'spread_desc'], {
        default: 'id',
        description:
          'id: every asset, by id, in keyset pages; spread_desc: the assets whose sources disagree most right now (the latest price of each source within a day, or twice ASSET_STALE_AFTER_MS if longer, of the newest observation; stale sources marked and left out of the spread), by spread, assets with fewer than two fresh prices left out; one page (no cursor)',
      }),
    ),
    limit: Type.Optional(LimitParam),
    cursor: Type.Optional(CursorParam),
  },
  { additionalProperties: false },
)

const ConflictQuery = Type.Object(
  {
    source: Type.Optional(SourceParam),
    reason: Type.Optional(StringEnum(CONFLICT_REASONS)),
    limit: Type.Optional(LimitParam),
    cursor: Type.Optional(CursorParam),
  },
  { additionalProperties: false },
)

/** Canonical assets with their aliases, one asset with the latest value per source, and identity conflicts. */
export function assetRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/v1/assets',
      {
        schema: {
          tags: ['assets'],
          summary: 'List canonical assets with their aliases, by id, in keyset pages',
          querystring: AssetQuery,
          response: {
            200: Type.Object({
              data: Type.Array(Type.Object({ ...AssetItem.properties, ...DivergenceFields })),
              page: Page,
              meta: Meta,
            }),
            400: Problem,
          },
        },
      },
      async (request, reply) => {
        const { q, symbol, cursor } = request.query
        const limit = request.query.limit ?? 100
        if (request.query.order === 'spread_desc') {
          if (cursor !== undefined)
            return sendProblem(reply, 400, 'VALIDATION_FAILED', 'order=spread_desc is one page: no cursor', [
              { field: 'cursor', in: 'querystring', message: 'not allowed with order=spread_desc' },
            ])
          const data = await listDivergentAssets(deps, { text: q, symbol, limit })
          return { data, page: { limit, next_cursor: null }, meta: responseMeta(reply) }
        }
        const rows = await listAssets(deps.db.kysely, {
          text: q,
          symbol: symbol === undefined ? undefined : normalizeSymbol(symbol),
          afterId: cursor === undefined ? undefined : decodeCursor(cursor, 'asc', ['key'] as const)[0],
          limit: limit + 1,
        })
        const { rows: page, page: pageInfo } = pageById(rows, limit, 'asc')
        // One query for the aliases of the whole page.
        const aliases = groupByAsset(
          await listAliasesOfAssets(
            deps.db.kysely,
            page.map((a) => a.id),
          ),
        )
        return {
          data: page.map((asset) => toAssetItem(asset, aliases.get(asset.id) ?? [])),
          page: pageInfo,
          meta: responseMeta(reply),
        }
      },
    )

    app.get(
      '/api/v1/assets/conflicts',
      {
        schema: {
          tags: ['assets'],
          summary:
            'Source assets whose identity evidence was ambiguous: each kept apart, with the assets it could be',
          querystring: ConflictQuery,
          response: {
            200: Type.Object({ data: Type.Array(ConflictItem), page: Page, meta: Meta }),
            400: Problem,
          },
        },
      },
      async (request, reply) => {
        const { source, reason, cursor } = request.query
        const limit = request.query.limit ?? 100
        const rows = await listAssetConflicts(deps.db.kysely, {
          source,
          reason,
          afterId: cursor === undefined ? undefined : decodeCursor(cursor, 'asc', ['id'] as const)[0],
          limit: limit + 1,
        })
        const { rows: page, page: pageInfo } = pageById(rows, limit, 'asc')
        return { data: page.map(toConflictItem), page: pageInfo, meta: responseMeta(reply) }
      },
    )

    app.get(
      '/api/v1/assets/:id',
      {
        schema: {
          tags: ['assets'],
          summary:
            'One asset: its aliases, the latest value per source, the consensus (median) price and spread',
          params: Type.Object(
            { id: Type.String({ minLength: 1, maxLength: 200, description: 'canonical asset id' }) },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ data: AssetDetail, meta: Meta }), 400: Problem, 404: Problem },
        },
      },
      async (request, reply) => {
        const id = request.params.id
        const asset = await findAsset(deps.db.kysely, id)
        if (!asset) throw new AssetNotFoundError(id, await findRemapTargets(deps.db.kysely, id))
        const [aliases, latest] = await Promise.all([
          listAliasesOfAssets(deps.db.kysely, [id]),
          listLatestRecordsPerSource(deps.db.kysely, id),
        ])
        const consensus = priceConsensus(latest, deps.assetStaleAfterMs)
        const stale = new Set(consensus.staleSources)
        const now = Date.parse(nowIso(deps.pipeline))
        return {
          data: {
            ...toAssetItem(asset, aliases),
            latest: latest.map((r) => ({
              source: r.source,
              observed_at: r.observedAt,
              age_seconds: Math.floor((now - Date.parse(r.observedAt)) / 1000),
              price_usd: r.priceUsd,
              market_cap_usd: r.marketCapUsd,
              volume_24h_usd: r.volume24hUsd,
              change_24h_pct: r.change24hPct,
              rank: r.rank,
              stale: stale.has(r.source),
            })),
            consensus_price_usd: consensus.consensusPriceUsd,
            spread_pct: consensus.spreadPct,
            stale_sources: [...consensus.staleSources],
          },
          meta: responseMeta(reply),
        }
      },
    )
  }
}

function toConflictItem(row: AssetConflictRow): Static<typeof ConflictItem> {
  return {
    source: row.source,
    source_asset_id: row.sourceAssetId,
    symbol: row.symbol,
    name: row.name,
    asset_id: row.assetId,
    reason: row.reason as ConflictReason,
    detail: row.detail,
    candidates: parseCandidates(row.candidates),
    detected_at: row.detectedAt,
  }
}

/** The stored `ConflictCandidate[]` JSON in snake_case; anything unreadable in it is left out. */
function parseCandidates(text: string): Static<typeof ConflictItem>['candidates'] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return []
  }
  if (!Array.isArray(parsed)) return []
  return parsed.flatMap((c: unknown) => {
    if (typeof c !== 'object' || c === null) return []
    const { assetId, source, sourceAssetId, symbol, name, why } = c as Record<string, unknown>
    if (
      typeof assetId !== 'string' ||
      typeof source !== 'string' ||
      typeof sourceAssetId !== 'string' ||
      typeof symbol !== 'string'
    )
      return []
    return [
      {
        asset_id: assetId,
        source,
        source_asset_id: sourceAssetId,
        symbol,
        name: typeof name === 'string' ? name : null,
        why: typeof why === 'string' ? why : '',
      },
    ]
  })
}
