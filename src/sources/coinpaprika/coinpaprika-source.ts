import type { Config } from '../../config.js'
import type { Logger } from '../../logger.js'
import type { UpstreamClientDeps } from '../http/upstream-client.js'
import { readStoredJson } from '../payload-schema.js'
import type { Source } from '../source.js'
import { isHistoryStream } from '../history.js'
import { createCoinPaprikaClient } from './coinpaprika-client.js'
import { coinPaprikaHistory, normalizeCoinPaprikaHistory } from './coinpaprika-history.js'
import { normalizeCoinPaprikaCoin } from './coinpaprika-coin.js'
import { normalizeCoinPaprikaTickers } from './coinpaprika-normalize.js'
import { coinPaprikaTickersStream } from './coinpaprika-streams.js'

/** CoinPaprika `/tickers` in USD: one stream, one batch per snapshot; and its history for backfills. */
export function createCoinPaprikaSource(config: Config, log: Logger, deps: UpstreamClientDeps = {}): Source {
  const settings = config.sources.coinpaprika
  const client = createCoinPaprikaClient(settings, config.upstream, log, deps)
  return {
    name: 'coinpaprika',
    conflictCode: 'RECORD_CONFLICT',
    streams: () => Promise.resolve([coinPaprikaTickersStream(client)]),
    transform: (stream, batch) =>
      isHistoryStream(stream)
        ? normalizeCoinPaprikaHistory(batch.parsed ?? readStoredJson(batch.payload), batch.meta)
        : normalizeCoinPaprikaTickers(batch.parsed ?? readStoredJson(batch.payload), settings.fieldAliases),
    history: coinPaprikaHistory(client, settings),
    identity: {
      async fetchCoinContracts(id, { signal, log: callLog }) {
        const response = await client.getJson(
          `/coins/${encodeURIComponent(id)}`,
          {},
          { signal, log: callLog },
        )
        return normalizeCoinPaprikaCoin(response.json)
      },
    },
    close: () => client.close(),
  }
}
