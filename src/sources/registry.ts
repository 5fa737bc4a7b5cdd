import type { Config, SourceName } from '../config.js'
import { SourceUnavailableError } from '../errors.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics/metrics.js'
import { createCoinGeckoSource } from './coingecko/coingecko-source.js'
import { createCoinPaprikaSource } from './coinpaprika/coinpaprika-source.js'
import { createCsvSource } from './csv/csv-source.js'
import type { Source } from './source.js'

export interface SourceRegistry {
  /** Sources this build implements, by name. */
  readonly available: readonly string[]
  get(name: string): Source
  /** Closes the upstream connections of every source created so far. */
  close(): Promise<void>
}

/**
 * Every source by name, each created on first use (a live source opens an HTTP connection pool).
 * With `metrics`, every upstream call any source makes is counted there.
 */
export function createSourceRegistry(config: Config, log: Logger, metrics?: Metrics): SourceRegistry {
  const factories: Record<SourceName, () => Source> = {
    csv: () => createCsvSource(config.sources.csv),
    coingecko: () => createCoinGeckoSource(config, log.child({ source: 'coingecko' }), { metrics }),
    coinpaprika: () => createCoinPaprikaSource(config, log.child({ source: 'coinpaprika' }), { metrics }),
  }
  const created = new Map<string, Source>()
  const available = Object.keys(factories)
  return {
    available,
    get(name) {
      const existing = created.get(name)
      if (existing) return existing
      if (!Object.hasOwn(factories, name)) throw new SourceUnavailableError(name, available)
      const source = factories[name as SourceName]()
      created.set(name, source)
      return source
    },
    async close() {
      await Promise.all([...created.values()].map((s) => s.close?.() ?? Promise.resolve()))
      created.clear()
    },
  }
}
