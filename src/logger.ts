import { pino, type Logger } from 'pino'

export type { Logger }

/** Paths pino blanks out wherever they appear in a log line. */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'headers.authorization',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'config.api.keys',
  'config.sources.coingecko.apiKey',
  'config.sources.coinpaprika.apiKey',
]

/** JSON logs to stdout; human-friendly only when a person is watching a terminal. */
export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const pretty = opts.pretty ?? (process.stdout.isTTY && opts.destination === undefined)
  const base = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } },
    })
  }
  return opts.destination ? pino(base, opts.destination) : pino(base)
}
