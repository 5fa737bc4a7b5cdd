import type { Config } from '../../config.js'
import type { UpstreamClient } from '../http/upstream-client.js'
import { cutWindows, type FoundAssets, type HistoryWindow, type SourceHistory } from '../history.js'
import { historyShapeError, observeHistoryPoints } from '../history-points.js'
import type { SourceAssetRef, TransformResult } from '../source.js'

const DAY = 86_400_000
/** At most this many points per call (upstream-apis.md: `limit` max 5000). */
const LIMIT = 5000
/** The free plan: daily points for the last year, finer ones for the last day only. */
const FREE_REACH = 365 * DAY
const INTRADAY_REACH = DAY
/** Kept off the reach's edge, so a clock a little ahead of CoinPaprika's is not refused a window. */
const REACH_MARGIN = 3_600_000
/**
 * The 5-minute window starts this far inside the last day, so an upstream clock a little ahead of
 * ours still sees it within the day; the minutes before it are read at the coarser step.
 */
const INTRADAY_MARGIN = 600_000

/**
 * `/tickers/{id}/historical`: 5-minute points for the last day, and before it daily points on the
 * free plan (a year back) or hourly ones with a key; each window at most 5,000 points. Windows
 * beyond the free plan's year are still asked for once and end the backfill `partial` when
 * refused (error 10012).
 */
export function coinPaprikaHistory(
  client: UpstreamClient,
  config: Config['sources']['coinpaprika'],
): SourceHistory {
  const pathOf = (asset: SourceAssetRef) => `/tickers/${encodeURIComponent(asset.sourceAssetId)}/historical`
  const keyed = Boolean(config.apiKey)
  return {
    async findAssets({ ids, top }, { signal, log }): Promise<FoundAssets> {
      const response = await client.getJson(
        '/tickers',
        { quotes: 'USD' },
        { signal, log, priority: 'background' },
      )
      const tickers = (
        Array.isArray(response.json) ? (response.json as Record<string, unknown>[]) : []
      ).filter((t) => typeof t.id === 'string' && typeof t.symbol === 'string')
      const refOf = (t: Record<string, unknown>): SourceAssetRef => ({
        sourceAssetId: t.id as string,
        symbol: (t.symbol as string).trim().toUpperCase(),
        name: typeof t.name === 'string' ? t.name.trim() || null : null,
      })
      const byId = new Map(tickers.map((t) => [t.id as string, refOf(t)]))
      const ranked = tickers
        .filter((t) => typeof t.rank === 'number' && t.rank > 0)
        .sort((a, b) => (a.rank as number) - (b.rank as number))
        .slice(0, top ?? 0)
        .map((t) => t.id as string)
      const wanted = [...new Set([...ids, ...ranked])]
      return {
        assets: wanted.flatMap((id) => byId.get(id) ?? []),
        unknown: wanted.filter((id) => !byId.has(id)),
      }
    },

    planWindows(from, to, now): HistoryWindow[] {
      const intradayFrom = now - INTRADAY_REACH + INTRADAY_MARGIN
      const step = keyed ? '1h' : '1d'
      const stepMs = keyed ? 3_600_000 : DAY
      const reachFrom = keyed ? undefined : now - FREE_REACH + REACH_MARGIN
      return [
        ...(to > intradayFrom ? cutWindows(Math.max(from, intradayFrom), to, DAY, '5m', undefined) : []),
        ...(from < intradayFrom
          ? cutWindows(from, Math.min(to, intradayFrom), LIMIT * stepMs, step, reachFrom)
          : []),
      ]
    },

    fetchWindow(asset, window, { signal, log }) {
      return client.getJson(
        pathOf(asset),
        {
          start: String(Math.ceil(window.from / 1000)),
          // The range is inclusive upstream; a window ends just before the next one starts.
          end: String(Math.ceil(window.to / 1000) - 1),
          interval: window.step,
          limit: String(LIMIT),
        },
        { signal, log, priority: 'background' },
      )
    },

    pathOf,
  }
}

/** Pure: one `/tickers/{id}/historical` answer → observations. */
export function normalizeCoinPaprikaHistory(
  payload: unknown,
  meta: Readonly<Record<string, unknown>>,
): TransformResult {
  if (!Array.isArray(payload)) throw historyShapeError('coinpaprika', 'an array of points')
  return observeHistoryPoints(
    'coinpaprika',
    meta,
    (payload as unknown[]).map((item) => {
      const point = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>
      return {
        time: point.timestamp,
        price: point.price,
        marketCap: point.market_cap,
        volume24h: point.volume_24h,
        raw: () => JSON.stringify(item),
      }
    }),
  )
}
