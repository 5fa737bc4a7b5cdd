import type { Config } from '../../config.js'
import type { Logger } from '../../logger.js'
import type { UpstreamClientDeps } from '../http/upstream-client.js'
import { readStoredJson } from '../payload-schema.js'
import type { Source } from '../source.js'
import { isHistoryStream } from '../history.js'
import { createCoinGeckoClient } from './coingecko-client.js'
import { coinGeckoHistory, normalizeCoinGeckoChart } from './coingecko-history.js'
import { normalizeCoinGeckoCoinsList } from './coingecko-coins-list.js'
import { normalizeCoinGeckoMarkets } from './coingecko-normalize.js'
import { coinGeckoMarketsStream } from './coingecko-streams.js'

/** CoinGecko `/coins/markets` in USD: one stream, one batch per page; and its history for backfills. */
export function createCoinGeckoSource(config: Config, log: Logger, deps: UpstreamClientDeps = {}): Source {
  const settings = config.sources.coingecko
  const client = createCoinGeckoClient(settings, config.upstream, log, deps)
  return {
    name: 'coingecko',
    conflictCode: 'RECORD_CONFLICT',
    streams: () => Promise.resolve([coinGeckoMarketsStream(client, settings)]),
    transform: (stream, batch) =>
      isHistoryStream(stream)
        ? normalizeCoinGeckoChart(batch.parsed ?? readStoredJson(batch.payload), batch.meta)
        : normalizeCoinGeckoMarkets(batch.parsed ?? readStoredJson(batch.payload), settings.fieldAliases),
    history: coinGeckoHistory(client, settings),
    identity: {
      async fetchAllContracts({ signal, log: callLog }) {
        const response = await client.getJson(
          '/coins/list',
          { include_platform: 'true' },
          { signal, log: callLog },
        )
        return normalizeCoinGeckoCoinsList(response.json)
      },
    },
    close: () => client.close(),
  }
}
