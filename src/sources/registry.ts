import type { Config, SourceName } from '../config.js'
import { SourceUnavailableError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Source } from './source.js'

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
 * With `metrics`, every upstream call any source makes is counted there.
 */
export function createSourceRegistry(config: Config, log: Logger, metrics?: Metrics): SourceRegistry {
  const factories: Record<SourceName, () => Promise<Source>> = {
    csv: async () => (await import('./csv/csv-source.js')).createCsvSource(config.sources.csv),
    coingecko: async () =>
      (await import('./coingecko/coingecko-source.js')).createCoinGeckoSource(
        config,
        log.child({ source: 'coingecko' }),
        { metrics },
      ),
    coinpaprika: async () =>
      (await import('./coinpaprika/coinpaprika-source.js')).createCoinPaprikaSource(
        config,
        log.child({ source: 'coinpaprika' }),
        { metrics },
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
