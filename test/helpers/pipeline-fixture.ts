import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type Config } from '../../src/config.js'
import { shippedIdentitySettings } from '../../src/identity/identity-settings.js'
import { createLogger } from '../../src/logger.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { createSourceRegistry } from '../../src/sources/registry.js'
import type { TestDatabase } from './test-database.js'

/** A config as `loadConfig` builds it, from variables given here only (never the machine's). */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ ETL_RUN_ON_START: 'false', ETL_SCHEDULE: 'off', LOG_LEVEL: 'silent', ...env })
}

/** A pipeline over `test` with the shipped identity tables (a test of a user override file uses `startLive`). */
export function pipelineContext(test: TestDatabase, env: Record<string, string> = {}): PipelineContext {
  const config = testConfig({ DATABASE_URL: test.url, ...env })
  if (config.identity.overridesPath) throw new Error('pipelineContext reads no override file')
  const log = createLogger('silent', { pretty: false })
  return {
    db: test.db,
    log,
    sources: createSourceRegistry(config, log),
    staleRunAfterMs: config.etl.staleRunAfterMs,
    identity: shippedIdentitySettings(config.identity),
  }
}

/** Writes a CSV file in a fresh temp folder and returns its path. */
export function writeCsv(text: string, name = 'prices.csv'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'coinpipe-csv-')), name)
  writeFileSync(path, text)
  return path
}

/** CSV text with a header and `rows` lines of day × symbol prices, deterministic. */
export function csvText(rows: number, opts: { startDay?: number; symbols?: string[] } = {}): string {
  const symbols = opts.symbols ?? ['BTC', 'ETH', 'SOL', 'ADA']
  const lines = ['date,symbol,price_usd,market_cap_usd']
  for (let i = 0; i < rows; i++) {
    const day = (opts.startDay ?? 0) + Math.floor(i / symbols.length)
    const symbol = symbols[i % symbols.length]!
    const date = new Date(Date.UTC(2024, 0, 1) + day * 86_400_000).toISOString().slice(0, 10)
    lines.push(`${date},${symbol},${(100 + day + (i % symbols.length)).toFixed(2)},${1000 * (day + 1)}`)
  }
  return lines.join('\n') + '\n'
}
