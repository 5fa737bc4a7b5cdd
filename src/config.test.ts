import { describe, expect, it } from 'vitest'
import { loadConfig } from './config.js'
import { ConfigError } from './errors.js'

const JWKS_URL = 'https://id.example.com/realms/coinpipe/protocol/openid-connect/certs'
const SECRET_32 = 's'.repeat(32)
const ALL_SCOPES = ['read', 'records:write', 'runs:write', 'assets:admin']

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
  it('detects the CSV dialect per file unless CSV_DELIMITER or CSV_DECIMAL_MARK pins it', () => {
    expect(loadConfig({}).sources.csv.dialect).toEqual({})
    expect(loadConfig({ CSV_DELIMITER: 'tab', CSV_DECIMAL_MARK: ',' }).sources.csv.dialect).toEqual({
      delimiter: '\t',
      decimalMark: ',',
    })
    expect(loadConfig({ CSV_DELIMITER: ';' }).sources.csv.dialect).toEqual({ delimiter: ';' })
    expect(problemsOf({ CSV_DELIMITER: 'x', CSV_DECIMAL_MARK: ';' })).toEqual([
      expect.stringContaining('CSV_DELIMITER'),
      expect.stringContaining('CSV_DECIMAL_MARK'),
    ])
  })

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
    expect(config.queue).toEqual({ prefix: 'coinpipe', leaseMs: 30_000 })
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
      QUEUE_PREFIX: 'coinpipe-staging',
      QUEUE_LEASE_MS: '5000',
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
    expect(config.api).toEqual({
      keys: [
        { key: 'aaaaaaaaaaaaaaaa', scopes: ['read', 'records:write', 'runs:write', 'assets:admin'] },
        { key: 'bbbbbbbbbbbbbbbb', scopes: ['read', 'records:write', 'runs:write', 'assets:admin'] },
      ],
      readKeysRequired: true,
    })
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379')
    expect(config.queue).toEqual({ prefix: 'coinpipe-staging', leaseMs: 5000 })
    expect(config.logLevel).toBe('debug')
  })

  it('refuses a queue prefix that is not a plain key part, and a lease under a second', () => {
    const problems = (() => {
      try {
        loadConfig({ QUEUE_PREFIX: 'my queue{1}', QUEUE_LEASE_MS: '500' })
      } catch (error) {
        return (error as ConfigError).problems
      }
      return []
    })()
    expect(problems.map((p) => p.split(/[=\s]/)[0])).toEqual(['QUEUE_PREFIX', 'QUEUE_LEASE_MS'])
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
      'API_READ_KEYS_REQUIRED=true needs API_KEYS, AUTH_JWKS_URL or AUTH_JWT_SECRET to be set',
    ])
    expect(loadConfig({ API_READ_KEYS_REQUIRED: 'true', AUTH_JWKS_URL: JWKS_URL }).api.readKeysRequired).toBe(
      true,
    )
  })

  it('returns a frozen object', () => {
    const config = loadConfig({})
    expect(Object.isFrozen(config.http)).toBe(true)
    expect(Object.isFrozen(config.sources.enabled)).toBe(true)
  })

  describe('authentication', () => {
    it('reads the scopes each API key grants, every scope for a key that names none', () => {
      const { keys } = loadConfig({
        API_KEYS: 'aaaaaaaaaaaaaaaa:read+records:write, bbbbbbbbbbbbbbbb, cccccccccccccccc:assets:admin',
      }).api
      expect(keys).toEqual([
        { key: 'aaaaaaaaaaaaaaaa', scopes: ['read', 'records:write'] },
        { key: 'bbbbbbbbbbbbbbbb', scopes: ALL_SCOPES },
        { key: 'cccccccccccccccc', scopes: ['assets:admin'] },
      ])
    })

    it.each([
      [
        'an unknown scope, naming it',
        'aaaaaaaaaaaaaaaa:read+records:delete',
        'key 1 names the unknown scope "records:delete"',
      ],
      ['a short key', 'aaaaaaaaaaaaaaaa,short:read', 'key 2 is shorter than 16 characters'],
      ['a key listed twice', 'aaaaaaaaaaaaaaaa:read,aaaaaaaaaaaaaaaa', 'key 2 is listed twice'],
      ['an empty scope', 'aaaaaaaaaaaaaaaa:read+', 'key 1 has an empty scope'],
    ])('refuses API_KEYS with %s, never echoing a key', (_what, value, problem) => {
      const problems = problemsOf({ API_KEYS: value })
      expect(problems).toHaveLength(1)
      expect(problems[0]).toContain(`API_KEYS is invalid: ${problem}`)
      expect(problems[0]).not.toContain('aaaaaaaaaaaaaaaa')
    })

    it('names no scope that may be part of a key with a colon in it', () => {
      const [problem] = problemsOf({ API_KEYS: 'aaaaaaaaaaaaaaaa:Secret-Part-0123456789' })
      expect(problem).toContain('key 1 has something after its ":" that is not a list of scopes')
      expect(problem).not.toMatch(/Secret-Part|aaaa/)
    })

    it('reads the JWT settings: a JWKS URL as written, a secret, the issuer and the accepted audiences', () => {
      const config = loadConfig({
        AUTH_JWKS_URL: `${JWKS_URL}/`,
        AUTH_JWT_SECRET: SECRET_32,
        AUTH_JWT_ISSUER: 'https://id.example.com/realms/coinpipe',
        AUTH_JWT_AUDIENCE: 'coinpipe, coinpipe-staging',
      })
      expect(config.auth).toEqual({
        jwksUrl: `${JWKS_URL}/`,
        jwtSecret: SECRET_32,
        issuer: 'https://id.example.com/realms/coinpipe',
        audience: ['coinpipe', 'coinpipe-staging'],
      })
      expect(loadConfig({}).auth).toBeUndefined()
      expect(loadConfig({ AUTH_JWKS_URL: JWKS_URL }).auth).toMatchObject({
        jwtSecret: undefined,
        audience: [],
      })
    })

    it('refuses an HS256 secret under 32 bytes, never echoing it, and a JWKS URL that is not http(s)', () => {
      const problems = problemsOf({
        AUTH_JWT_SECRET: 'too-short-secret',
        AUTH_JWKS_URL: 'ftp://id.example.com/jwks',
      })
      expect(problems).toEqual([
        expect.stringContaining('AUTH_JWKS_URL="ftp://id.example.com/jwks" is invalid'),
        'AUTH_JWT_SECRET is invalid: it is 16 bytes long; HS256 needs at least 32; expected a shared HS256 secret of at least 32 bytes',
      ])
    })

    it('refuses an issuer or audience without a way to verify tokens', () => {
      expect(
        problemsOf({ AUTH_JWT_ISSUER: 'https://id.example.com', AUTH_JWT_AUDIENCE: 'coinpipe' }),
      ).toEqual(['AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE need AUTH_JWKS_URL or AUTH_JWT_SECRET to be set'])
    })

    it('refuses an API key shaped like a JWT when tokens are on: it would be verified as one', () => {
      const keys = 'aaaaaaaaaaaaaaaa,header.payload.signature'
      expect(loadConfig({ API_KEYS: keys }).api.keys).toHaveLength(2)
      const [problem] = problemsOf({ API_KEYS: keys, AUTH_JWT_SECRET: SECRET_32 })
      expect(problem).toContain('key 2 has the shape of a JWT')
      expect(problem).not.toContain('header.payload')
    })
  })

  describe('API hardening', () => {
    it('defaults to 600 requests a minute per client, no trusted proxy and no CORS', () => {
      expect(loadConfig({}).http).toMatchObject({
        rateLimit: { points: 600, windowMs: 60_000 },
        trustProxy: false,
        corsOrigins: undefined,
      })
    })

    it('reads API_RATE_LIMIT in the upstream syntax, and off', () => {
      expect(loadConfig({ API_RATE_LIMIT: '20/1s' }).http.rateLimit).toEqual({ points: 20, windowMs: 1000 })
      expect(loadConfig({ API_RATE_LIMIT: '100/min' }).http.rateLimit).toEqual({
        points: 100,
        windowMs: 60_000,
      })
      expect(loadConfig({ API_RATE_LIMIT: 'OFF' }).http.rateLimit).toBeUndefined()
    })

    it.each([
      ['true', true],
      ['false', false],
      ['0', false],
      ['2', 2],
      ['10.0.0.1', ['10.0.0.1']],
      ['10.0.0.0/8, 127.0.0.1, ::1, fd00::/8', ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']],
    ] as const)('reads TRUST_PROXY=%s', (value, expected) => {
      expect(loadConfig({ TRUST_PROXY: value }).http.trustProxy).toEqual(expected)
    })

    it('reads CORS_ORIGINS as origins, or *', () => {
      expect(loadConfig({ CORS_ORIGINS: '*' }).http.corsOrigins).toEqual(['*'])
      expect(
        loadConfig({ CORS_ORIGINS: 'https://App.example.com/, http://localhost:3000' }).http.corsOrigins,
      ).toEqual(['https://app.example.com', 'http://localhost:3000'])
    })

    it('names every bad hardening variable at once', () => {
      const problems = problemsOf({
        API_RATE_LIMIT: 'lots',
        TRUST_PROXY: 'the load balancer',
        CORS_ORIGINS: 'https://app.example.com/path, *',
      })
      expect(problems.map((p) => p.split('=')[0])).toEqual(['API_RATE_LIMIT', 'TRUST_PROXY', 'CORS_ORIGINS'])
      expect(problems[0]).toContain('or "off"')
    })

    it.each(['0/1min', '10/0s', '10', 'ftp://x'])('refuses API_RATE_LIMIT=%s', (value) => {
      expect(problemsOf({ API_RATE_LIMIT: value })).toHaveLength(1)
    })

    it.each(['10.0.0.0/33', '::1/129', '300.1.1.1', '10.0.0.1/8/8', ','])(
      'refuses TRUST_PROXY=%s',
      (value) => {
        expect(problemsOf({ TRUST_PROXY: value })).toHaveLength(1)
      },
    )
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
