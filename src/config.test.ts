import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('defaults to SQLite under data/, localhost:8080, every source, a 10-minute schedule and no keys', () => {
    const config = loadConfig({})
    expect(config.database).toMatchObject({ kind: 'sqlite', url: 'sqlite:data/coinpipe.db' })
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8080 })
    expect(config.sources.enabled).toEqual(['coingecko', 'coinpaprika', 'csv'])
    expect(config.sources.csv.paths[0]).toMatch(/data\/sample-prices\.csv$/)
    expect(config.etl.schedules).toEqual({
      coingecko: '*/10 * * * *',
      coinpaprika: '*/10 * * * *',
      csv: '*/10 * * * *',
    })
    expect(config.etl.runOnStart).toBe(true)
    expect(config.api.keys).toEqual([])
    expect(config.sources.coingecko.apiKey).toBeUndefined()
    expect(config.redisUrl).toBeUndefined()
    expect(config.logLevel).toBe('info')
  })

  it('reads every documented variable', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://app@db.internal:5432/coinpipe',
      HOST: '0.0.0.0',
      PORT: '9000',
      SOURCES: 'csv, coingecko',
      CSV_PATHS: 'a.csv, imports/*.csv',
      COINGECKO_BASE_URL: 'http://127.0.0.1:4010/api/v3/',
      COINGECKO_API_KEY: 'cg-key',
      COINPAPRIKA_BASE_URL: 'http://127.0.0.1:4010/v1',
      COINPAPRIKA_API_KEY: 'cp-key',
      ETL_SCHEDULE: '0 * * * *',
      ETL_SCHEDULE_CSV: 'off',
      ETL_RUN_ON_START: 'false',
      API_KEYS: 'aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb',
      API_READ_KEYS_REQUIRED: 'true',
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'DEBUG',
    })
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://app@db.internal:5432/coinpipe' })
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 9000 })
    expect(config.sources.enabled).toEqual(['csv', 'coingecko'])
    expect(config.sources.csv.paths).toEqual(['a.csv', 'imports/*.csv'])
    expect(config.sources.coingecko).toMatchObject({
      baseUrl: 'http://127.0.0.1:4010/api/v3',
      apiKey: 'cg-key',
    })
    expect(config.sources.coinpaprika.apiKey).toBe('cp-key')
    expect(config.etl.schedules).toEqual({ coingecko: '0 * * * *', coinpaprika: '0 * * * *', csv: 'off' })
    expect(config.etl.runOnStart).toBe(false)
    expect(config.api).toEqual({ keys: ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'], readKeysRequired: true })
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379')
    expect(config.logLevel).toBe('debug')
  })

  it.each([
    ['sqlite::memory:', ':memory:'],
    ['sqlite:/var/lib/coinpipe/prices.db', '/var/lib/coinpipe/prices.db'],
    ['sqlite:///var/lib/coinpipe/prices.db', '/var/lib/coinpipe/prices.db'],
  ])('accepts DATABASE_URL=%s', (url, path) => {
    expect(loadConfig({ DATABASE_URL: url }).database).toMatchObject({ kind: 'sqlite', path })
  })

  it('names every bad variable in one error, with what each expects', () => {
    const problems = problemsOf({
      DATABASE_URL: 'mysql://x/y',
      PORT: 'eighty',
      SOURCES: 'csv,binance',
      ETL_SCHEDULE: 'every minute',
      ETL_RUN_ON_START: 'maybe',
      LOG_LEVEL: 'loud',
      COINGECKO_BASE_URL: 'ftp://example',
    })
    expect(problems.map((p) => p.split(/[=\s]/)[0])).toEqual([
      'DATABASE_URL',
      'PORT',
      'SOURCES',
      'COINGECKO_BASE_URL',
      'ETL_SCHEDULE',
      'ETL_RUN_ON_START',
      'LOG_LEVEL',
    ])
    expect(problems.find((p) => p.startsWith('PORT'))).toContain('expected an integer port')
    expect(problems.find((p) => p.startsWith('SOURCES'))).toContain('coingecko, coinpaprika, csv')
  })

  it('never echoes the value of a secret variable', () => {
    const problems = problemsOf({ API_KEYS: 'short-secret', DATABASE_URL: 'mysql://user:hunter2@db/x' })
    expect(problems.join('\n')).not.toMatch(/short-secret|hunter2/)
    expect(problems).toHaveLength(2)
  })

  it('refuses to require keys for reads when no key exists', () => {
    expect(problemsOf({ API_READ_KEYS_REQUIRED: 'true' })).toEqual([
      'API_READ_KEYS_REQUIRED=true needs API_KEYS to be set',
    ])
  })

  it('returns a frozen object', () => {
    const config = loadConfig({})
    expect(Object.isFrozen(config.http)).toBe(true)
    expect(Object.isFrozen(config.sources.enabled)).toBe(true)
  })

  describe('live sources', () => {
    it('defaults to paced, retried upstream calls and two CoinGecko pages of 250', () => {
      const config = loadConfig({})
      expect(config.sources.coingecko).toMatchObject({
        plan: 'demo',
        perPage: 250,
        maxPages: 2,
        rateLimit: { points: 10, windowMs: 60_000 },
        fieldAliases: {},
      })
      expect(config.sources.coinpaprika.rateLimit).toEqual({ points: 5, windowMs: 1000 })
      expect(config.upstream).toEqual({
        connectTimeoutMs: 5000,
        readTimeoutMs: 20_000,
        maxRetries: 4,
        retryBaseMs: 1000,
        maxRetryWaitMs: 120_000,
      })
      expect(config.etl.compare).toEqual({ recordSwingPct: 50, durationSwingPct: 100, rejectionJumpPts: 5 })
    })

    it('takes the CoinGecko plan from the host unless COINGECKO_API_PLAN says otherwise', () => {
      const pro = { COINGECKO_BASE_URL: 'https://pro-api.coingecko.com/api/v3', COINGECKO_API_KEY: 'CG-x' }
      expect(loadConfig(pro).sources.coingecko.plan).toBe('pro')
      expect(loadConfig({ ...pro, COINGECKO_API_PLAN: 'DEMO' }).sources.coingecko.plan).toBe('demo')
      expect(loadConfig({ COINGECKO_API_KEY: 'CG-x' }).sources.coingecko.rateLimit).toEqual({
        points: 30,
        windowMs: 60_000,
      })
    })

    it('reads rate limits, field aliases and thresholds', () => {
      const config = loadConfig({
        COINGECKO_RATE_LIMIT: '100/1min',
        COINPAPRIKA_RATE_LIMIT: '3/500ms',
        COINPAPRIKA_FIELD_ALIASES: 'quotes.USD.px=quotes.USD.price, rank_now=rank',
        RUN_COMPARE_RECORD_SWING_PCT: '20',
      })
      expect(config.sources.coingecko.rateLimit).toEqual({ points: 100, windowMs: 60_000 })
      expect(config.sources.coinpaprika.rateLimit).toEqual({ points: 3, windowMs: 500 })
      expect(config.sources.coinpaprika.fieldAliases).toEqual({
        'quotes.USD.px': 'quotes.USD.price',
        rank_now: 'rank',
      })
      expect(config.etl.compare.recordSwingPct).toBe(20)
    })

    it('names every bad live-source variable, and never echoes a key', () => {
      const problems = problemsOf({
        COINGECKO_API_PLAN: 'enterprise',
        COINGECKO_PER_PAGE: '500',
        COINPAPRIKA_RATE_LIMIT: 'fast',
        COINGECKO_FIELD_ALIASES: 'a=b=c',
        UPSTREAM_READ_TIMEOUT_MS: '-1',
      })
      expect(problems.map((p) => p.split('=')[0])).toEqual([
        'COINGECKO_API_PLAN',
        'COINGECKO_PER_PAGE',
        'COINGECKO_FIELD_ALIASES',
        'COINPAPRIKA_RATE_LIMIT',
        'UPSTREAM_READ_TIMEOUT_MS',
      ])
    })
  })
})
