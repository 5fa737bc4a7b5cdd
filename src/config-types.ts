import type { ApiScope, LogLevel, SourceName } from './config.js'
import type { DecimalMark } from './domain/parse-decimal.js'

// The shape of the configuration `loadConfig` returns; config.ts re-exports every type here.

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
  readonly api: { readonly keys: readonly ApiKeyConfig[]; readonly readKeysRequired: boolean }
  /** JWT bearer tokens accepted beside API_KEYS; `undefined` unless AUTH_JWKS_URL or AUTH_JWT_SECRET is set. */
  readonly auth: JwtAuthConfig | undefined
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
  /** Set: queue mode, ETL jobs on BullMQ workers (REDIS_URL). */
  readonly redisUrl: string | undefined
  readonly queue: QueueConfig
  readonly logLevel: LogLevel
}

/** One key of API_KEYS and the scopes it grants (all of them when the key names none). */
export interface ApiKeyConfig {
  readonly key: string
  readonly scopes: readonly ApiScope[]
}

/** How `Authorization: Bearer <JWT>` is verified: by an OIDC provider's JWKS, an HS256 secret, or both. */
export interface JwtAuthConfig {
  /** Asymmetric signatures (RS*, PS*, ES*, EdDSA) checked against this JWKS, cached and refetched on an unknown `kid`. */
  readonly jwksUrl: string | undefined
  /** HS256 signatures checked with this shared secret (≥ 32 bytes). */
  readonly jwtSecret: string | undefined
  /** The `iss` a token must carry; not checked when unset. */
  readonly issuer: string | undefined
  /** `aud` values accepted (a token's `aud` must name one); not checked when empty. */
  readonly audience: readonly string[]
}

/** Queue mode's settings; read whether or not REDIS_URL is set, used only when it is. */
export interface QueueConfig {
  /** The prefix of every Redis key coinpipe writes (BullMQ's too): one per deployment, or per test run. */
  readonly prefix: string
  /**
   * A worker holds a job's and its source's lease for this long and renews it while it works; a
   * worker that stops renewing (killed, frozen) loses both, and its job goes to another worker.
   */
  readonly leaseMs: number
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

export type CoingeckoPlan = 'demo' | 'pro'

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
