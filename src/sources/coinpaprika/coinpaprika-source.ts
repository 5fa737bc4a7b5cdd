import type { Config } from '../../config.js'
import type { Logger } from '../../logger.js'
import type { OutboundLimiter } from '../http/outbound-limiter.js'
import { readStoredJson } from '../payload-schema.js'
import type { Source } from '../source.js'
import { createCoinPaprikaClient } from './coinpaprika-client.js'
import { normalizeCoinPaprikaTickers } from './coinpaprika-normalize.js'
import { coinPaprikaTickersStream } from './coinpaprika-streams.js'

/** CoinPaprika `/tickers` in USD: one stream, one batch per snapshot. */
export function createCoinPaprikaSource(config: Config, log: Logger, limiter?: OutboundLimiter): Source {
  const settings = config.sources.coinpaprika
  const client = createCoinPaprikaClient(settings, config.upstream, log, limiter)
  return {
    name: 'coinpaprika',
    conflictCode: 'RECORD_CONFLICT',
    streams: () => Promise.resolve([coinPaprikaTickersStream(client)]),
    transform: (_stream, batch) =>
      normalizeCoinPaprikaTickers(batch.parsed ?? readStoredJson(batch.payload), settings.fieldAliases),
    close: () => client.close(),
  }
}
