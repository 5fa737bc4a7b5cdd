import type { Config, RateLimit, SourceName } from '../config.js'
import { SourceUnavailableError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { OutboundLimiter } from './http/outbound-limiter.js'
import type { Source } from './source.js'

/** The sources that call an upstream over HTTP, each paced by its own outbound limiter. */
export type LiveSourceName = 'coingecko' | 'coinpaprika'

export interface SourceRegistryOptions {
  /**
   * The limiter of each live source, asked once when the source is created (queue mode passes
   * one kept in Redis, shared by every worker); without it, each source paces itself in-process.
   */
  readonly limiterFor?: (source: LiveSourceName, limit: RateLimit) => OutboundLimiter
}

export interface SourceRegistry {
  /** Sources this build implements, by name. */
  readonly available: readonly string[]
  /** The name as a source this build implements; throws `SourceUnavailableError` otherwise. */
  check(name: string): SourceName
  /** The source, created (and its module loaded) on first use. */
  get(name: string): Promise<Source>
  /** Closes the upstream connections of every source created so far. */
  close(): Promise<void>
}

/**
 * Every source by name, each created on first use (a live source opens an HTTP connection pool),
 * its module loaded only then: a CSV import never loads the HTTP client or the payload schemas.
 * With `metrics`, every upstream call any source makes is counted there; with
 * `options.limiterFor`, the live sources are paced by the limiters it gives.
 */
export function createSourceRegistry(
  config: Config,
  log: Logger,
  metrics?: Metrics,
  options: SourceRegistryOptions = {},
): SourceRegistry {
  const deps = (source: LiveSourceName) => ({
    metrics,
    limiter: options.limiterFor?.(source, config.sources[source].rateLimit),
  })
  const factories: Record<SourceName, () => Promise<Source>> = {
    csv: async () => (await import('./csv/csv-source.js')).createCsvSource(config.sources.csv),
    coingecko: async () =>
      (await import('./coingecko/coingecko-source.js')).createCoinGeckoSource(
        config,
        log.child({ source: 'coingecko' }),
        deps('coingecko'),
      ),
    coinpaprika: async () =>
      (await import('./coinpaprika/coinpaprika-source.js')).createCoinPaprikaSource(
        config,
        log.child({ source: 'coinpaprika' }),
        deps('coinpaprika'),
      ),
  }
  const created = new Map<string, Promise<Source>>()
  const available = Object.keys(factories)
  const check = (name: string): SourceName => {
    if (!Object.hasOwn(factories, name)) throw new SourceUnavailableError(name, available)
    return name as SourceName
  }
  return {
    available,
    check,
    get(name) {
      const existing = created.get(name)
      if (existing) return existing
      const source = factories[check(name)]()
      created.set(name, source)
      return source
    },
    async close() {
      const sources = await Promise.all(created.values())
      created.clear()
      await Promise.all(sources.map((s) => s.close?.() ?? Promise.resolve()))
    },
  }
}
