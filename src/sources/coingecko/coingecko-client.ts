import type { Config } from '../../config.js'
import type { Logger } from '../../logger.js'
import { createOutboundLimiter } from '../http/outbound-limiter.js'
import {
  createUpstreamClient,
  type UpstreamClient,
  type UpstreamClientDeps,
} from '../http/upstream-client.js'

/**
 * CoinGecko's key header follows the plan: `x-cg-demo-api-key` on api.coingecko.com,
 * `x-cg-pro-api-key` on pro-api.coingecko.com (a key in the wrong one is a 400, error 10010/10011;
 * upstream-apis.md §2.1). Keyless sends neither.
 */
export function coinGeckoAuthHeaders(config: Config['sources']['coingecko']): Record<string, string> {
  if (!config.apiKey) return {}
  return config.plan === 'pro'
    ? { 'x-cg-pro-api-key': config.apiKey }
    : { 'x-cg-demo-api-key': config.apiKey }
}

export function createCoinGeckoClient(
  config: Config['sources']['coingecko'],
  http: Config['upstream'],
  log: Logger,
  { limiter, metrics }: UpstreamClientDeps = {},
): UpstreamClient {
  return createUpstreamClient({
    source: 'coingecko',
    baseUrl: config.baseUrl,
    authHeaders: coinGeckoAuthHeaders(config),
    http,
    limiter: limiter ?? createOutboundLimiter('coingecko', config.rateLimit),
    log,
    metrics,
  })
}
