import type { Config } from '../../config.js'
import type { UpstreamClient } from '../http/upstream-client.js'
import { cutWindows, type FoundAssets, type HistoryWindow, type SourceHistory } from '../history.js'
import { historyShapeError, observeHistoryPoints } from '../history-points.js'
import type { SourceAssetRef, TransformResult } from '../source.js'

const DAY = 86_400_000
/** CoinGecko's own granularity: 5-minutely for a range within the last day, hourly up to 90 days. */
const FIVE_MINUTE_SPAN = DAY
const HOURLY_SPAN = 90 * DAY
/** How far back a Demo (or keyless) plan reaches (upstream-apis.md; the "last 365 days"). */
const DEMO_REACH = 365 * DAY
/** Kept off the reach's edge, so a clock a little ahead of CoinGecko's is not refused a window. */
const REACH_MARGIN = 3_600_000
/**
 * The 5-minute window starts this far inside the last day, so an upstream clock a little ahead of
 * ours still sees it within the day; the minutes before it are read at the coarser step.
 */
const INTRADAY_MARGIN = 600_000
const MARKETS_PER_PAGE = 250

/**
 * `/coins/{id}/market_chart/range`: windows of a day within the last day (5-minute points) and of
 * 90 days before (hourly points), the finest CoinGecko gives without an Enterprise plan. A Demo or
 * keyless plan reaches 365 days; older windows are still asked for once (the plan may reach
 * further than configured) and end the backfill `partial` when refused.
 */
export function coinGeckoHistory(
  client: UpstreamClient,
  config: Config['sources']['coingecko'],
): SourceHistory {
  const pathOf = (asset: SourceAssetRef) =>
    `/coins/${encodeURIComponent(asset.sourceAssetId)}/market_chart/range`
  return {
    async findAssets({ ids, top }, { signal, log }): Promise<FoundAssets> {
      const found = new Map<string, SourceAssetRef>()
      const read = (json: unknown) => {
        for (const item of Array.isArray(json) ? (json as Record<string, unknown>[]) : []) {
          if (typeof item.id !== 'string' || typeof item.symbol !== 'string') continue
          found.set(item.id, {
            sourceAssetId: item.id,
            symbol: item.symbol.trim().toUpperCase(),
            name: typeof item.name === 'string' ? item.name.trim() || null : null,
          })
        }
      }
      const query = { vs_currency: 'usd', order: 'market_cap_desc', sparkline: 'false' }
      for (let at = 0; at < ids.length; at += MARKETS_PER_PAGE) {
        const chunk = ids.slice(at, at + MARKETS_PER_PAGE)
        const response = await client.getJson(
          '/coins/markets',
          { ...query, ids: chunk.join(','), per_page: String(MARKETS_PER_PAGE), page: '1' },
          { signal, log, priority: 'background' },
        )
        read(response.json)
      }
      const topIds: string[] = []
      for (let page = 1; top !== undefined && topIds.length < top; page++) {
        const response = await client.getJson(
          '/coins/markets',
          { ...query, per_page: String(MARKETS_PER_PAGE), page: String(page) },
          { signal, log, priority: 'background' },
        )
        const before = found.size
        read(response.json)
        const items = Array.isArray(response.json) ? (response.json as { id?: unknown }[]) : []
        for (const item of items) if (typeof item.id === 'string' && topIds.length < top) topIds.push(item.id)
        if (items.length < MARKETS_PER_PAGE || found.size === before) break
      }
      const wanted = [...new Set([...ids, ...topIds])]
      return {
        assets: wanted.flatMap((id) => found.get(id) ?? []),
        unknown: wanted.filter((id) => !found.has(id)),
      }
    },

    planWindows(from, to, now): HistoryWindow[] {
      const intradayFrom = now - FIVE_MINUTE_SPAN + INTRADAY_MARGIN
      const reachFrom = config.plan === 'pro' ? undefined : now - DEMO_REACH + REACH_MARGIN
      return [
        ...(to > intradayFrom
          ? cutWindows(Math.max(from, intradayFrom), to, FIVE_MINUTE_SPAN, '5m', undefined)
          : []),
        ...(from < intradayFrom
          ? cutWindows(from, Math.min(to, intradayFrom), HOURLY_SPAN, '1h', reachFrom)
          : []),
      ]
    },

    fetchWindow(asset, window, { signal, log }) {
      return client.getJson(
        pathOf(asset),
        {
          vs_currency: 'usd',
          from: String(Math.ceil(window.from / 1000)),
          // The range is inclusive upstream; a window ends just before the next one starts.
          to: String(Math.ceil(window.to / 1000) - 1),
        },
        { signal, log, priority: 'background' },
      )
    },

    pathOf,
  }
}

/** Pure: one `/market_chart/range` answer → observations; the three series joined on their times. */
export function normalizeCoinGeckoChart(
  payload: unknown,
  meta: Readonly<Record<string, unknown>>,
): TransformResult {
  const chart = payload as { prices?: unknown; market_caps?: unknown; total_volumes?: unknown } | null
  if (!Array.isArray(chart?.prices)) throw historyShapeError('coingecko', 'a prices array')
  const byTime = (series: unknown) => {
    const values = new Map<unknown, unknown>()
    if (Array.isArray(series))
      for (const pair of series) if (Array.isArray(pair)) values.set(pair[0], pair[1])
    return values
  }
  const caps = byTime(chart.market_caps)
  const volumes = byTime(chart.total_volumes)
  return observeHistoryPoints(
    'coingecko',
    meta,
    (chart.prices as unknown[]).map((pair) => {
      const [time, price] = Array.isArray(pair) ? (pair as unknown[]) : [undefined, undefined]
      return {
        time,
        price,
        marketCap: caps.get(time),
        volume24h: volumes.get(time),
        raw: () => JSON.stringify([time, price, caps.get(time), volumes.get(time)]),
      }
    }),
  )
}
