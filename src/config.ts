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
  parseKeyPrefix,
  parseHttpUrlExact,
  parseJwtSecret,
  ConfigValueError,
  JWT_SHAPE,
} from './config-values.js'
import { ConfigError } from './errors.js'

/** Every source coinpipe knows by name. */
export const SOURCE_NAMES = ['coingecko', 'coinpaprika', 'csv'] as const
export type SourceName = (typeof SOURCE_NAMES)[number]
/** Sources a record can carry: the ETL sources plus manual entry over the API. */
export const RECORD_SOURCES = [...SOURCE_NAMES, 'manual'] as const
export type RecordSource = (typeof RECORD_SOURCES)[number]

/** What an API key or a token may be allowed to do; a key that names none may do all of it. */
export const API_SCOPES = ['read', 'records:write', 'runs:write', 'assets:admin'] as const
export type ApiScope = (typeof API_SCOPES)[number]

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

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

export type {
  ApiKeyConfig,
  CompareThresholds,
  Config,
  CoingeckoPlan,
  DatabaseConfig,
  IdentityConfig,
  JwtAuthConfig,
  QueueConfig,
  RateLimit,
  TrustProxy,
  UpstreamConfig,
} from './config-types.js'
import type { CompareThresholds, Config, CoingeckoPlan, DatabaseConfig } from './config-types.js'

export const COINGECKO_PLANS = ['demo', 'pro'] as const satisfies readonly CoingeckoPlan[]

const SECRET_VARIABLES = /KEY|SECRET|DATABASE_URL|REDIS_URL/

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
    } catch (error) {
      const shown = SECRET_VARIABLES.test(name) ? '' : `=${JSON.stringify(raw)}`
      const why = error instanceof ConfigValueError ? `${error.message}; ` : ''
      problems.push(`${name}${shown} is invalid: ${why}expected ${expects}`)
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
  const keys = read(
    'API_KEYS',
    '',
    (v) => parseApiKeys(v, API_SCOPES),
    `comma-separated keys of at least 16 characters, each optionally followed by :scope+scope… (${API_SCOPES.join(', ')})`,
  )
  const jwksUrl = read(
    'AUTH_JWKS_URL',
    '',
    (v) => (v === '' ? undefined : parseHttpUrlExact(v)),
    'an http(s) URL',
  )
  const jwtSecret = read('AUTH_JWT_SECRET', '', parseJwtSecret, 'a shared HS256 secret of at least 32 bytes')
  const jwtIssuer = optional('AUTH_JWT_ISSUER')
  const jwtAudience = read('AUTH_JWT_AUDIENCE', '', parseList, 'comma-separated audience values')
  const auth =
    jwksUrl === undefined && jwtSecret === undefined
      ? undefined
      : { jwksUrl, jwtSecret, issuer: jwtIssuer, audience: jwtAudience }
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
  const queuePrefix = read('QUEUE_PREFIX', 'coinpipe', parseKeyPrefix, 'letters, digits, - _ . and :')
  const queueLeaseMs = readInt('QUEUE_LEASE_MS', '30000', 1000, 600_000, 'milliseconds')
  const logLevel = read(
    'LOG_LEVEL',
    'info',
    (v) => parseEnum(v.toLowerCase(), LOG_LEVELS),
    LOG_LEVELS.join(', '),
  )
  if (readKeysRequired && keys.length === 0 && !auth)
    problems.push('API_READ_KEYS_REQUIRED=true needs API_KEYS, AUTH_JWKS_URL or AUTH_JWT_SECRET to be set')
  if (!auth && (jwtIssuer !== undefined || jwtAudience.length > 0))
    problems.push('AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE need AUTH_JWKS_URL or AUTH_JWT_SECRET to be set')
  // A bearer value shaped like a JWT is verified as one when tokens are on: such a key could never match.
  const jwtShaped = keys.findIndex(({ key }) => JWT_SHAPE.test(key))
  if (auth && jwtShaped !== -1)
    problems.push(
      `API_KEYS is invalid: key ${jwtShaped + 1} has the shape of a JWT (three parts joined by dots), so it would be verified as a token; choose a key without dots`,
    )

  if (problems.length > 0) throw new ConfigError(problems)
  return deepFreeze({
    database,
    http: { host, port, bodyLimitBytes, rateLimit: apiRateLimit, trustProxy, corsOrigins },
    api: { keys, readKeysRequired },
    auth,
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
    queue: { prefix: queuePrefix, leaseMs: queueLeaseMs },
    logLevel,
  })
}

/**
 * Every variable coinpipe reads, sorted: `loadConfig` and `tracingRequested` read an empty
 * environment that records each name asked for; then the OpenTelemetry variables the README lists.
 * Container and deployment files are checked against this list.
 */
export function listConfigVariables(): string[] {
  const names = new Set<string>(OTEL_VARIABLES)
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
  tracingRequested(recorder)
  return [...names].sort()
}

/**
 * The standard OpenTelemetry variables the README and .env.example document. The SDK reads them
 * (and the other OTEL_*) itself, as the OpenTelemetry specification says: a bad value is warned
 * about and ignored, never a reason to stop.
 */
const OTEL_VARIABLES = [
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
]

/**
 * Whether traces are to be exported: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * or OTEL_TRACES_EXPORTER is set (in the environment or `.env`, like every other setting), and
 * neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none turns them off. Asked before any
 * command loads: without tracing, the OpenTelemetry SDK is never loaded at all.
 */
export function tracingRequested(env: Env = readProcessEnv()): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false
  const exporters = parseList(env.OTEL_TRACES_EXPORTER?.toLowerCase() ?? '')
  if (exporters.length > 0) return exporters[0] !== 'none'
  return [env.OTEL_EXPORTER_OTLP_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT].some(
    (endpoint) => endpoint !== undefined && endpoint.trim() !== '',
  )
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
