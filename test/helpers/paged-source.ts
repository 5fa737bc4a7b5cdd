import { AppError } from '../../src/errors.js'
import type { SourceRegistry } from '../../src/sources/registry.js'
import type { Source, StreamCursor } from '../../src/sources/source.js'

class PayloadBrokenError extends AppError {
  readonly code = 'TEST_PAYLOAD_BROKEN'
}

/** Three pages of five coins in all; page 2 is "broken" until the test fixes it. */
export const PAGES: readonly { page: number; broken?: boolean; prices: Record<string, number> }[] = [
  { page: 1, prices: { BTC: 1, ETH: 2 } },
  { page: 2, broken: true, prices: { SOL: 3, ADA: 4 } },
  { page: 3, prices: { XRP: 5 } },
]

/**
 * A coingecko stand-in of three JSON pages; the transform refuses the broken page with
 * `TEST_PAYLOAD_BROKEN` until `state.fixed` is set, as a code fix would.
 */
export function pagedSource(state: { fixed: boolean }): Source {
  return {
    name: 'coingecko',
    conflictCode: 'RECORD_CONFLICT',
    streams: () =>
      Promise.resolve([
        {
          name: 'markets',
          async *extract(cursor: StreamCursor | undefined) {
            const from = typeof cursor?.page === 'number' ? cursor.page : 0
            for (const page of PAGES.filter((p) => p.page > from)) {
              yield await Promise.resolve({
                payload: JSON.stringify(page),
                meta: { page: page.page },
                rowCount: Object.keys(page.prices).length,
                cursorAfter: { page: page.page },
              })
            }
          },
        },
      ]),
    transform(_stream, batch) {
      const page = JSON.parse(batch.payload) as (typeof PAGES)[number]
      if (page.broken && !state.fixed) throw new PayloadBrokenError(`page ${page.page} is broken`)
      return {
        rejections: [],
        observations: Object.entries(page.prices).map(([symbol, priceUsd]) => ({
          asset: { sourceAssetId: symbol.toLowerCase(), symbol, name: symbol },
          observedAt: '2026-01-01T00:00:00.000Z',
          priceUsd,
          marketCapUsd: null,
          volume24hUsd: null,
          change24hPct: null,
          rank: null,
          circulatingSupply: null,
          totalSupply: null,
          maxSupply: null,
          line: null,
          raw: null,
        })),
      }
    },
  }
}

/** A registry holding only `pagedSource`. */
export function pagedRegistry(state: { fixed: boolean }): SourceRegistry {
  const source = pagedSource(state)
  return {
    available: ['coingecko'],
    check: () => 'coingecko',
    get: () => Promise.resolve(source),
    close: () => Promise.resolve(),
  }
}
