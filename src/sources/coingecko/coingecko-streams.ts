import type { Config } from '../../config.js'
import type { UpstreamClient } from '../http/upstream-client.js'
import type { ExtractedBatch, Stream, StreamCursor } from '../source.js'

/** Where the markets stream stands: the next page of the current cycle. */
export interface MarketsCursor {
  readonly next_page: number
  readonly cycle_completed_at?: string
}

/**
 * `/coins/markets`, one page per batch, until an empty or short page or `maxPages`. The cursor
 * holds the next page, so a run cut short by a rate limit is finished by the next run; once a
 * cycle completes, the next one starts at page 1.
 */
export function coinGeckoMarketsStream(
  client: UpstreamClient,
  config: Config['sources']['coingecko'],
): Stream {
  return {
    name: 'markets',
    async *extract(cursor, { signal, log }): AsyncGenerator<ExtractedBatch> {
      for (let page = firstPage(cursor, config.maxPages); page <= config.maxPages; page++) {
        if (signal.aborted) return
        const query = {
          vs_currency: 'usd',
          order: 'market_cap_desc',
          per_page: String(config.perPage),
          page: String(page),
          sparkline: 'false',
        }
        let response
        try {
          response = await client.getJson('/coins/markets', query, { signal, log })
        } catch (error) {
          if (signal.aborted) return
          throw error
        }
        const items = Array.isArray(response.json) ? response.json.length : 0
        const last = !Array.isArray(response.json) || items < config.perPage || page >= config.maxPages
        const fetchedAt = new Date().toISOString()
        const cursorAfter: MarketsCursor = last
          ? { next_page: 1, cycle_completed_at: fetchedAt }
          : { next_page: page + 1 }
        yield {
          payload: response.body,
          meta: { path: '/coins/markets', page, per_page: config.perPage, fetched_at: fetchedAt },
          rowCount: items,
          cursorAfter: cursorAfter as unknown as StreamCursor,
          parsed: response.json,
        }
        if (last) return
      }
    },
  }
}

function firstPage(cursor: StreamCursor | undefined, maxPages: number): number {
  const page = cursor?.next_page
  return typeof page === 'number' && Number.isInteger(page) && page >= 1 && page <= maxPages ? page : 1
}
