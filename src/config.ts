import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  parseReadableFile,
  parseNumber,
  parseHost,
  parseInteger,
  parseBoolean,
  parseList,
  parseEnum,
  parseHttpUrl,
  parseRedisUrl,
  parseSchedule,
  parseRateLimit,
  parseTrustProxy,
  parseCorsOrigins,
  parseFieldAliases,
  parseApiKeys,
  parseCsvDelimiter,
} from './config-values.js'
import type { DecimalMark } from './domain/parse-decimal.js'
import { ConfigError } from './errors.js'

/** Every source coinpipe knows by name. */
export const SOURCE_NAMES = ['coingecko', 'coinpaprika', 'csv'] as const
export type SourceName = (typeof SOURCE_NAMES)[number]
/** Sources a record can carry: the ETL sources plus manual entry over the API. */
export const RECORD_SOURCES = [...SOURCE_NAMES, 'manual'] as const
export type RecordSource = (typeof RECORD_SOURCES)[number]

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * The root of the installed package, where the bundled sample data lives: the nearest folder above
 * this module with a package.json (this module sits in `src/`, `dist/` or the CLI bundle's `dist/bin/`).
 */
export const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)))

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(resolve(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return resolve(from, '..')
  }
}
const SAMPLE_CSV = resolve(PACKAGE_ROOT, 'data/sample-prices.csv')

export type DatabaseConfig =
  | { readonly kind: 'sqlite'; readonly url: string; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string }

export interface Config {
  readonly database: DatabaseConfig
  readonly http: {
    readonly host: string
    readonly port: number
    readonly bodyLimitBytes: number
    /** Inbound limit per API key, else per client IP; `undefined` when `API_RATE_LIMIT=off`. */
    readonly rateLimit: RateLimit | undefined
    /** Which proxies may set `X-Forwarded-For`: none, all, a hop count, or addresses and CIDRs. */
    readonly trustProxy: TrustProxy
    /** Origins allowed cross-origin (`['*']` for any); `undefined` leaves CORS off. */
    readonly corsOrigins: readonly string[] | undefined
  }
  readonly api: { readonly keys: readonly string[]; readonly readKeysRequired: boolean }
  readonly assets: {
    /** A source whose latest observation trails the asset's newest one by more than this is left out of the consensus. */
    readonly staleAfterMs: number
  }
  readonly sources: {
    readonly enabled: readonly SourceName[]
    readonly csv: {
      readonly paths: readonly string[]
      readonly batchRows: number
      /** Pinned by CSV_DELIMITER / CSV_DECIMAL_MARK; what is absent is detected per file. */
      readonly dialect: { readonly delimiter?: string; readonly decimalMark?: DecimalMark }
    }
    readonly coingecko: UpstreamConfig & {
      /** Which key header a key goes in; follows the base URL's host unless set. */
      readonly plan: CoingeckoPlan
      readonly perPage: number
      /** Pages fetched per cycle (each one a batch). */
      readonly maxPages: number
    }
    readonly coinpaprika: UpstreamConfig
  }
  /** Timeouts and retries shared by every upstream client. */
  readonly upstream: {
    readonly connectTimeoutMs: number
    /** Longest wait for the response headers, and then for each chunk of the body. */
    readonly readTimeoutMs: number
    readonly maxRetries: number
    readonly retryBaseMs: number
    /** Cap on the total time one request may spend waiting between attempts (Retry-After included). */
    readonly maxRetryWaitMs: number
  }
  readonly etl: {
    /** Cron pattern per source, or `off`. */
    readonly schedules: Readonly<Record<SourceName, string>>
    readonly runOnStart: boolean
    /** A `running` run whose heartbeat is older than this is considered dead. */
    readonly staleRunAfterMs: number
    /** How far `GET /api/v1/runs/compare` lets two runs differ before it flags an anomaly. */
    readonly compare: CompareThresholds
  }
  readonly identity: IdentityConfig
  readonly redisUrl: string | undefined
  readonly logLevel: LogLevel
}

export interface IdentityConfig {
  /** A JSON override file of the user's, read on top of the shipped `data/asset-overrides.json`. */
  readonly overridesPath: string | undefined
  /** Prices of one symbol from two sources agree within this percentage of the lower one. */
  readonly priceTolerancePct: number
  /** CoinPaprika `/coins/{id}` lookups per run for unresolved assets; 0 turns them off. */
  readonly contractLookupsPerRun: number
  /** How old the cached CoinGecko coins list may grow before it is fetched again; 0 never fetches it. */
  readonly coinsListRefreshMs: number
}

export const COINGECKO_PLANS = ['demo', 'pro'] as const
export type CoingeckoPlan = (typeof COINGECKO_PLANS)[number]

/** Fastify's `trustProxy`: trust no proxy, every proxy, the nearest N hops, or these addresses/CIDRs. */
export type TrustProxy = boolean | number | readonly string[]

/** At most `points` requests in any window of `windowMs`. */
export interface RateLimit {
  readonly points: number
  readonly windowMs: number
}

export interface UpstreamConfig {
  readonly baseUrl: string
  readonly apiKey: string | undefined
  readonly rateLimit: RateLimit
  /** Upstream field name → the declared field it stands for, for a rename not yet in a release. */
  readonly fieldAliases: Readonly<Record<string, string>>
}

export interface CompareThresholds {
  /** Flag when loaded + unchanged records differ by more than this percentage. */
  readonly recordSwingPct: number
  /** Flag when the duration differs by more than this percentage. */
  readonly durationSwingPct: number
  /** Flag when the rejected share of extracted rows rises by more than this many percentage points. */
  readonly rejectionJumpPts: number
}

/** Variables whose values may hold credentials and are never echoed back. */
const SECRET_VARIABLES = /KEY|DATABASE_URL|REDIS_URL/

type Env = Readonly<Record<string, string | undefined>>

/**
 * Reads the configuration from `env` (the process environment plus `.env`, by default) and
 * validates all of it at once: one `ConfigError` names every bad variable.
 */
export function loadConfig(env: Env = readProcessEnv()): Config {
  const problems: string[] = []
  const read = <T>(name: string, fallback: string, parse: (raw: string) => T, expects: string): T => {
    const raw = env[name]?.trim()
    const value = raw === undefined || raw === '' ? fallback : raw
    try {
      return parse(value)
    } catch {
      const shown = SECRET_VARIABLES.test(name) ? '' : `=${JSON.stringify(raw)}`
      problems.push(`${name}${shown} is invalid: expected ${expects}`)
      return parse(fallback)
    }
  }
  const readInt = (name: string, fallback: string, min: number, max: number, what = 'an integer'): number =>
    read(name, fallback, (v) => parseInteger(v, min, max), `${what} from ${min} to ${max}`)
  const optional = (name: string): string | undefined => {
    const raw = env[name]?.trim()
    return raw === undefined || raw === '' ? undefined : raw
  }

  const database = read(
    'DATABASE_URL',
    'sqlite:data/coinpipe.db',
    parseDatabaseUrl,
    'sqlite:<path>, sqlite::memory: or postgres://…',
  )
  const host = read('HOST', '127.0.0.1', parseHost, 'a host name or IP address')
  const port = readInt('PORT', '8080', 0, 65535, 'an integer port')
  const enabled = read(
    'SOURCES',
    SOURCE_NAMES.join(','),
    parseSources,
    `a comma-separated subset of ${SOURCE_NAMES.join(', ')}`,
  )
  const csvPaths = read('CSV_PATHS', SAMPLE_CSV, parseList, 'comma-separated file paths or globs')
  const batchRows = readInt('CSV_BATCH_ROWS', '20000', 1, 1_000_000)
  const csvDelimiter = read('CSV_DELIMITER', 'auto', parseCsvDelimiter, 'auto, ",", ";", tab or "|"')
  const csvDecimalMark = read(
    'CSV_DECIMAL_MARK',
    'auto',
    (v) => parseEnum(v, ['auto', '.', ','] as const),
    'auto, "." or ","',
  )
  const coingeckoUrl = read(
    'COINGECKO_BASE_URL',
    'https://api.coingecko.com/api/v3',
    parseHttpUrl,
    'an http(s) URL',
  )
  const coinpaprikaUrl = read(
    'COINPAPRIKA_BASE_URL',
    'https://api.coinpaprika.com/v1',
    parseHttpUrl,
    'an http(s) URL',
  )
  const coingeckoKey = optional('COINGECKO_API_KEY')
  const coingeckoPlan = read(
    'COINGECKO_API_PLAN',
    new URL(coingeckoUrl).hostname.startsWith('pro-api.') ? 'pro' : 'demo',
    (v) => parseEnum(v.toLowerCase(), COINGECKO_PLANS),
    'demo or pro',
  )
  const coingeckoPerPage = readInt('COINGECKO_PER_PAGE', '250', 1, 250)
  const coingeckoMaxPages = readInt('COINGECKO_MAX_PAGES', '2', 1, 1000)
  const rateLimit = (name: string, fallback: string) =>
    read(name, fallback, parseRateLimit, 'requests per window, e.g. 30/60s, 10/1s or 500/1500ms')
  const fieldAliases = (name: string) =>
    read(name, '', parseFieldAliases, 'comma-separated upstream_field=declared_field pairs')
  // CoinGecko Demo: about 30 calls/min (upstream-apis.md §2.5); keyless is lower still.
  const coingeckoRateLimit = rateLimit('COINGECKO_RATE_LIMIT', coingeckoKey ? '30/60s' : '10/60s')
  const coingeckoAliases = fieldAliases('COINGECKO_FIELD_ALIASES')
  // CoinPaprika free plan: 10 req/s per IP (upstream-apis.md §1.6); stay well below it.
  const coinpaprikaRateLimit = rateLimit('COINPAPRIKA_RATE_LIMIT', '5/1s')
  const coinpaprikaAliases = fieldAliases('COINPAPRIKA_FIELD_ALIASES')
  const upstream = {
    connectTimeoutMs: readInt('UPSTREAM_CONNECT_TIMEOUT_MS', '5000', 1, 600_000, 'milliseconds'),
    readTimeoutMs: readInt('UPSTREAM_READ_TIMEOUT_MS', '20000', 1, 600_000, 'milliseconds'),
    maxRetries: readInt('UPSTREAM_MAX_RETRIES', '4', 0, 20),
    retryBaseMs: readInt('UPSTREAM_RETRY_BASE_MS', '1000', 0, 600_000, 'milliseconds'),
    maxRetryWaitMs: readInt('UPSTREAM_MAX_RETRY_WAIT_MS', '120000', 0, 3_600_000, 'milliseconds'),
  }
  const percent = (name: string, fallback: string) =>
    readInt(name, fallback, 0, 100_000, 'a whole percentage')
  const compare: CompareThresholds = {
    recordSwingPct: percent('RUN_COMPARE_RECORD_SWING_PCT', '50'),
    durationSwingPct: percent('RUN_COMPARE_DURATION_SWING_PCT', '100'),
    rejectionJumpPts: percent('RUN_COMPARE_REJECTION_JUMP_PTS', '5'),
  }
  const defaultSchedule = read('ETL_SCHEDULE', '*/10 * * * *', parseSchedule, 'a cron pattern or "off"')
  const schedules = Object.fromEntries(
    SOURCE_NAMES.map((source) => {
      const name = `ETL_SCHEDULE_${source.toUpperCase()}`
      return [source, read(name, defaultSchedule, parseSchedule, 'a cron pattern or "off"')]
    }),
  ) as Record<SourceName, string>
  const runOnStart = read('ETL_RUN_ON_START', 'true', parseBoolean, 'true or false')
  const staleRunAfterMs = readInt('ETL_STALE_RUN_AFTER_MS', '600000', 1000, 86_400_000, 'milliseconds')
  const assetStaleAfterMs = readInt('ASSET_STALE_AFTER_MS', '3600000', 1000, 31_536_000_000, 'milliseconds')
  const identity = {
    overridesPath: read('IDENTITY_OVERRIDES_PATH', '', parseReadableFile, 'a readable JSON file'),
    priceTolerancePct: read(
      'IDENTITY_PRICE_TOLERANCE_PCT',
      '2',
      (v) => parseNumber(v, 0, 50),
      'a percentage from 0 to 50',
    ),
    contractLookupsPerRun: readInt('IDENTITY_CONTRACT_LOOKUPS_PER_RUN', '25', 0, 10_000),
    coinsListRefreshMs: readInt(
      'IDENTITY_COINS_LIST_REFRESH_MS',
      '86400000',
      0,
      31_536_000_000,
      'milliseconds (0: never fetch)',
    ),
  }
  const keys = read('API_KEYS', '', parseApiKeys, 'comma-separated keys of at least 16 characters')
  const readKeysRequired = read('API_READ_KEYS_REQUIRED', 'false', parseBoolean, 'true or false')
  const bodyLimitBytes = readInt('API_BODY_LIMIT_BYTES', '65536', 1024, 10_485_760, 'bytes')
  const apiRateLimit = read(
    'API_RATE_LIMIT',
    '600/1min',
    (v) => (v.toLowerCase() === 'off' ? undefined : parseRateLimit(v)),
    'requests per window, e.g. 600/1min or 20/1s, or "off"',
  )
  const trustProxy = read(
    'TRUST_PROXY',
    'false',
    parseTrustProxy,
    'true, false, a hop count, or comma-separated proxy addresses or CIDRs',
  )
  const corsOrigins = read(
    'CORS_ORIGINS',
    '',
    parseCorsOrigins,
    'comma-separated origins such as https://app.example.com, or *',
  )
  const redisUrl = read(
    'REDIS_URL',
    '',
    (v) => (v === '' ? undefined : parseRedisUrl(v)),
    'a redis:// or rediss:// URL',
  )
  const logLevel = read(
    'LOG_LEVEL',
    'info',
    (v) => parseEnum(v.toLowerCase(), LOG_LEVELS),
    LOG_LEVELS.join(', '),
  )
  if (readKeysRequired && keys.length === 0)
    problems.push('API_READ_KEYS_REQUIRED=true needs API_KEYS to be set')

  if (problems.length > 0) throw new ConfigError(problems)
  return deepFreeze({
    database,
    http: { host, port, bodyLimitBytes, rateLimit: apiRateLimit, trustProxy, corsOrigins },
    api: { keys, readKeysRequired },
    sources: {
      enabled,
      csv: {
        paths: csvPaths,
        batchRows,
        dialect: {
          ...(csvDelimiter === 'auto' ? {} : { delimiter: csvDelimiter }),
          ...(csvDecimalMark === 'auto' ? {} : { decimalMark: csvDecimalMark }),
        },
      },
      coingecko: {
        baseUrl: coingeckoUrl,
        apiKey: coingeckoKey,
        plan: coingeckoPlan,
        perPage: coingeckoPerPage,
        maxPages: coingeckoMaxPages,
        rateLimit: coingeckoRateLimit,
        fieldAliases: coingeckoAliases,
      },
      coinpaprika: {
        baseUrl: coinpaprikaUrl,
        apiKey: optional('COINPAPRIKA_API_KEY'),
        rateLimit: coinpaprikaRateLimit,
        fieldAliases: coinpaprikaAliases,
      },
    },
    upstream,
    etl: { schedules, runOnStart, staleRunAfterMs, compare },
    assets: { staleAfterMs: assetStaleAfterMs },
    identity,
    redisUrl,
    logLevel,
  })
}

/**
 * Every variable `loadConfig` reads, sorted: it reads an empty environment that records each name
 * asked for. Container and deployment files are checked against this list.
 */
export function listConfigVariables(): string[] {
  const names = new Set<string>()
  const recorder = new Proxy<Env>(
    {},
    {
      get(_target, name) {
        if (typeof name === 'string') names.add(name)
        return undefined
      },
    },
  )
  loadConfig(recorder)
  return [...names].sort()
}

function readProcessEnv(): Env {
  // Node ≥ 20.12 reads .env natively; values already in the environment win.
  if (existsSync('.env')) process.loadEnvFile('.env')
  return process.env
}

export function parseDatabaseUrl(value: string): DatabaseConfig {
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (path === '') throw new Error('empty sqlite path')
    return { kind: 'sqlite', url: value, path: path === ':memory:' ? path : resolve(path) }
  }
  const url = new URL(value)
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('unsupported protocol')
  if (url.pathname.length <= 1) throw new Error('missing database name')
  return { kind: 'postgres', url: value }
}

function parseSources(value: string): SourceName[] {
  const list = parseList(value).map((s) => parseEnum(s.toLowerCase(), SOURCE_NAMES))
  return [...new Set(list)]
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
