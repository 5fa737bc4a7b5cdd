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

/** JSON logs (to stdout, or stderr with `fd: 2`); human-friendly only when a person watches a terminal. */
export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: NodeJS.WritableStream; fd?: 1 | 2 } = {},
): Logger {
  const fd = opts.fd ?? 1
  const tty = fd === 1 ? process.stdout.isTTY : process.stderr.isTTY
  const pretty = opts.pretty ?? (tty && opts.destination === undefined)
  const base = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }
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
