import type { Config } from '../../config.js'
import type { Logger } from '../../logger.js'
import { createOutboundLimiter } from '../http/outbound-limiter.js'
import {
  createUpstreamClient,
  type UpstreamClient,
  type UpstreamClientDeps,
} from '../http/upstream-client.js'

/** A paid CoinPaprika key goes raw in `Authorization`, as the vendor's own CLI sends it (upstream-apis.md §1.1). */
export function coinPaprikaAuthHeaders(config: Config['sources']['coinpaprika']): Record<string, string> {
  return config.apiKey ? { authorization: config.apiKey } : {}
}

export function createCoinPaprikaClient(
  config: Config['sources']['coinpaprika'],
  http: Config['upstream'],
  log: Logger,
  { limiter, metrics }: UpstreamClientDeps = {},
): UpstreamClient {
  return createUpstreamClient({
    source: 'coinpaprika',
    baseUrl: config.baseUrl,
    authHeaders: coinPaprikaAuthHeaders(config),
    http,
    limiter: limiter ?? createOutboundLimiter('coinpaprika', config.rateLimit),
    log,
    metrics,
  })
}
