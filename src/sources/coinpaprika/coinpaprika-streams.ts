import type { UpstreamClient } from '../http/upstream-client.js'
import type { ExtractedBatch, Stream } from '../source.js'

/**
 * `/tickers?quotes=USD`: the whole snapshot in one call and one batch (no paging upstream; the
 * free plan stops at 2,000 assets). Each run fetches it anew; records dedupe on `last_updated`.
 */
export function coinPaprikaTickersStream(client: UpstreamClient): Stream {
  return {
    name: 'tickers',
    async *extract(_cursor, { signal, log }): AsyncGenerator<ExtractedBatch> {
      if (signal.aborted) return
      let response
      try {
        response = await client.getJson('/tickers', { quotes: 'USD' }, { signal, log })
      } catch (error) {
        if (signal.aborted) return
        throw error
      }
      const fetchedAt = new Date().toISOString()
      yield {
        payload: response.body,
        meta: { path: '/tickers', quotes: 'USD', fetched_at: fetchedAt },
        rowCount: Array.isArray(response.json) ? response.json.length : 0,
        cursorAfter: { fetched_at: fetchedAt },
        parsed: response.json,
      }
    },
  }
}
