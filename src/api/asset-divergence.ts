import { Type } from 'typebox'
import {
  findAssets,
  findNewestObservation,
  listAliasesOfAssets,
  listLatestQuotesSince,
  type AssetQuote,
} from '../db/repositories/asset-query-repository.js'
import { priceConsensus } from '../domain/price-consensus.js'
import { normalizeSymbol } from '../identity/identity-keys.js'
import { groupByAsset, toAssetItem } from './asset-items.js'
import type { ApiDeps } from './build-app.js'
import { Nullable } from './schemas.js'

/** What `GET /api/v1/assets?order=spread_desc` adds to each asset. */
export const DivergenceFields = {
  consensus_price_usd: Type.Optional(
    Nullable(Type.Number({ description: 'order=spread_desc: as on the asset' })),
  ),
  spread_pct: Type.Optional(Nullable(Type.Number({ description: 'order=spread_desc: as on the asset' }))),
  stale_sources: Type.Optional(Type.Array(Type.String())),
  latest: Type.Optional(
    Type.Array(
      Type.Object({
        source: Type.String(),
        observed_at: Type.String({ format: 'date-time' }),
        price_usd: Nullable(Type.Number()),
        stale: Type.Boolean(),
      }),
      { description: 'order=spread_desc: the price each source gave last' },
    ),
  ),
}

const DAY_MS = 86_400_000

/**
 * The assets whose sources disagree most now: each source's latest price within a day (or twice the
 * stale threshold, if longer) of the newest observation, weighed as `GET /api/v1/assets/{id}` weighs
 * them (a source trailing by more than the threshold is stale and left out of the spread), by spread.
 */
export async function listDivergentAssets(
  deps: ApiDeps,
  filter: { text: string | undefined; symbol: string | undefined; limit: number },
) {
  const db = deps.db.kysely
  const newest = await findNewestObservation(db)
  if (newest === undefined) return []
  const since = new Date(Date.parse(newest) - Math.max(2 * deps.assetStaleAfterMs, DAY_MS)).toISOString()
  const byAsset = new Map<string, AssetQuote[]>()
  for (const quote of await listLatestQuotesSince(db, since)) {
    const quotes = byAsset.get(quote.assetId) ?? []
    quotes.push(quote)
    byAsset.set(quote.assetId, quotes)
  }
  const ranked = [...byAsset]
    .map(([assetId, quotes]) => ({
      assetId,
      quotes,
      consensus: priceConsensus(quotes, deps.assetStaleAfterMs),
    }))
    .filter((entry) => entry.consensus.spreadPct !== null)
    .sort((a, b) => b.consensus.spreadPct! - a.consensus.spreadPct! || (a.assetId < b.assetId ? -1 : 1))
  const text = filter.text?.toLowerCase()
  const symbol = filter.symbol === undefined ? undefined : normalizeSymbol(filter.symbol)
  // Unfiltered, only the top `limit` assets are read; a filter needs every candidate's name.
  const candidates = text === undefined && symbol === undefined ? ranked.slice(0, filter.limit) : ranked
  const assets = new Map(
    (
      await findAssets(
        db,
        candidates.map((r) => r.assetId),
      )
    ).map((a) => [a.id, a]),
  )
  const page = candidates
    .filter(({ assetId }) => {
      const asset = assets.get(assetId)
      if (!asset) return false
      if (symbol !== undefined && asset.symbol !== symbol) return false
      return (
        text === undefined || [asset.id, asset.symbol, asset.name].some((v) => v.toLowerCase().includes(text))
      )
    })
    .slice(0, filter.limit)
  const aliases = groupByAsset(
    await listAliasesOfAssets(
      db,
      page.map((r) => r.assetId),
    ),
  )
  return page.map(({ assetId, quotes, consensus }) => {
    const stale = new Set(consensus.staleSources)
    return {
      ...toAssetItem(assets.get(assetId)!, aliases.get(assetId) ?? []),
      consensus_price_usd: consensus.consensusPriceUsd,
      spread_pct: consensus.spreadPct,
      stale_sources: [...consensus.staleSources],
      latest: quotes.map((q) => ({
        source: q.source,
        observed_at: q.observedAt,
        price_usd: q.priceUsd,
        stale: stale.has(q.source),
      })),
    }
  })
}
