import { pino, type Logger } from 'pino'
import { REDACTED, redactSecrets } from './redact-secrets.js'
import { activeSpanIds, tracingEnabled } from './telemetry/tracing.js'

export type { Logger }

const SECRET_HEADERS = ['authorization', 'x-api-key', 'x-cg-demo-api-key', 'x-cg-pro-api-key', 'cookie']
const SECRET_FIELDS = ['apiKey', 'api_key', 'password', 'token', 'databaseUrl', 'database_url']

/**
 * Paths pino blanks out wherever they appear in a log line: credential headers (inbound requests,
 * outbound upstream calls), key and password fields, and the config's secrets.
 */
export const REDACTED_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
  ...SECRET_HEADERS.flatMap((header) =>
    ['headers', 'req.headers', 'request.headers', 'res.headers', '*.headers'].map(
      (at) => `${at}["${header}"]`,
    ),
  ),
  'config.api.keys',
  'config.auth.jwtSecret',
  'config.database.url',
  'config.redisUrl',
  'config.sources.coingecko.apiKey',
  'config.sources.coinpaprika.apiKey',
]

/** JSON logs (to stdout, or stderr with `fd: 2`); human-friendly only when a person watches a terminal. */
export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: NodeJS.WritableStream; fd?: 1 | 2 } = {},
): Logger {
  const fd = opts.fd ?? 1
  const tty = fd === 1 ? process.stdout.isTTY : process.stderr.isTTY
  const pretty = opts.pretty ?? (tty && opts.destination === undefined)
  const base = {
    level,
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    // The last line of defence, on the finished line: a password in any URL and a key in any query
    // string, wherever it sits (a message, an error, a field nobody thought of).
    hooks: { streamWrite: redactSecrets },
    // With tracing on, a line written inside a span carries its trace_id and span_id, so a log
    // search and a trace view meet; without it, no mixin runs at all.
    ...(tracingEnabled() ? { mixin: traceIdsMixin } : {}),
  }
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss', destination: fd },
      },
    })
  }
  return pino(base, opts.destination ?? pino.destination({ fd, sync: true }))
}

/** A fresh object each time: pino assigns the line's own fields into what a mixin returns. */
function traceIdsMixin(): object {
  return activeSpanIds() ?? {}
}
