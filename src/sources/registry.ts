import type { Config } from '../config.js'
import { SourceUnavailableError } from '../errors.js'
import { createCsvSource } from './csv/csv-source.js'
import type { Source } from './source.js'

export interface SourceRegistry {
  /** Sources this build implements, by name. */
  readonly available: readonly string[]
  get(name: string): Source
}

export function createSourceRegistry(config: Config): SourceRegistry {
  const sources = new Map<string, Source>([['csv', createCsvSource(config.sources.csv)]])
  return {
    available: [...sources.keys()],
    get(name) {
      const source = sources.get(name)
      if (!source) throw new SourceUnavailableError(name, [...sources.keys()])
      return source
    },
  }
}
