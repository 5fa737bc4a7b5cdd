import { accessSync, constants } from 'node:fs'
import { isIP } from 'node:net'
import { Cron } from 'croner'
import type { RateLimit, TrustProxy } from './config.js'

// The value parsers behind loadConfig: each turns one variable's text into a value or throws.

export function parseReadableFile(value: string): string | undefined {
  if (value === '') return undefined
  accessSync(value, constants.R_OK)
  return value
}

export function parseNumber(value: string, min: number, max: number): number {
  const n = Number(value)
  if (!/^\d+(\.\d+)?$/.test(value) || !(n >= min && n <= max))
    throw new Error(`not a number from ${min} to ${max}`)
  return n
}

export function parseHost(value: string): string {
  if (!/^[\w.:[\]-]+$/.test(value)) throw new Error('bad host')
  return value
}

export function parseInteger(value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new Error('not an integer')
  const n = Number(value)
  if (n < min || n > max) throw new Error('out of range')
  return n
}

export function parseBoolean(value: string): boolean {
  const v = value.toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(v)) return true
  if (['false', '0', 'no', 'off'].includes(v)) return false
  throw new Error('not a boolean')
}

export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
}

export function parseEnum<T extends string>(value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error('not allowed')
  return value as T
}

export function parseHttpUrl(value: string): string {
  const url = new URL(value)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
  return value.replace(/\/+$/, '')
}

export function parseRedisUrl(value: string): string {
  const url = new URL(value)
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('not redis')
  return value
}

export function parseSchedule(value: string): string {
  if (value.toLowerCase() === 'off') return 'off'
  new Cron(value, { paused: true }).stop()
  return value
}

export function parseRateLimit(value: string): RateLimit {
  const match = /^(\d+)\s*\/\s*(\d+)?\s*(ms|s|sec|m|min|h)$/i.exec(value)
  if (!match) throw new Error('bad rate limit')
  const unitMs = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 }[
    match[3]!.toLowerCase() as 'ms'
  ]
  const points = Number(match[1])
  const windowMs = Number(match[2] ?? '1') * unitMs
  if (points < 1 || windowMs < 1) throw new Error('empty rate limit')
  return { points, windowMs }
}

export function parseTrustProxy(value: string): TrustProxy {
  if (/^(true|false|yes|no|on|off)$/i.test(value)) return parseBoolean(value)
  if (/^\d+$/.test(value)) return value === '0' ? false : parseInteger(value, 1, 100)
  const list = parseList(value)
  if (list.length === 0) throw new Error('empty list')
  for (const entry of list) {
    const [address = '', prefix, ...rest] = entry.split('/')
    const family = isIP(address)
    if (family === 0 || rest.length > 0) throw new Error('not an address')
    if (prefix !== undefined) parseInteger(prefix, 0, family === 4 ? 32 : 128)
  }
  return list
}

/** `*`, or origins as a browser sends them (`scheme://host[:port]`, no path). */
export function parseCorsOrigins(value: string): string[] | undefined {
  if (value === '') return undefined
  if (value === '*') return ['*']
  const origins = parseList(value).map((origin) => {
    const url = new URL(origin)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '')
      throw new Error('not an origin')
    return url.origin
  })
  if (origins.length === 0) throw new Error('empty list')
  return [...new Set(origins)]
}

export function parseFieldAliases(value: string): Record<string, string> {
  const aliases: Record<string, string> = {}
  for (const pair of parseList(value)) {
    const match = /^([\w.]+)\s*=\s*([\w.]+)$/.exec(pair)
    if (!match) throw new Error('bad alias')
    aliases[match[1]!] = match[2]!
  }
  return aliases
}

/** Three base64url parts joined by dots (the last empty when unsigned): a compact JWS, as a bearer value. */
export const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/

/** A parse failure whose message is safe to show: it names what is wrong, never a secret's value. */
export class ConfigValueError extends Error {}

/**
 * `key`, or `key:scope+scope`: each key with the scopes it grants, every scope when it names none.
 * A problem names a key by its position, never by its value; an unknown scope is named when it
 * looks like one (anything else after the `:` may be part of a key).
 */
export function parseApiKeys<S extends string>(
  value: string,
  scopes: readonly S[],
): { key: string; scopes: readonly S[] }[] {
  const seen = new Set<string>()
  return parseList(value).map((entry, i) => {
    const at = entry.indexOf(':')
    const key = at === -1 ? entry : entry.slice(0, at)
    const which = `key ${i + 1}`
    if (key.length < 16) throw new ConfigValueError(`${which} is shorter than 16 characters`)
    if (seen.has(key)) throw new ConfigValueError(`${which} is listed twice`)
    seen.add(key)
    if (at === -1) return { key, scopes }
    const named = entry.slice(at + 1).split('+')
    const granted = named.map((scope) => {
      if (scope === '') throw new ConfigValueError(`${which} has an empty scope after its ":" or a "+"`)
      if ((scopes as readonly string[]).includes(scope)) return scope as S
      if (/^[a-z][a-z:_-]{0,31}$/.test(scope))
        throw new ConfigValueError(`${which} names the unknown scope "${scope}"`)
      throw new ConfigValueError(`${which} has something after its ":" that is not a list of scopes`)
    })
    return { key, scopes: [...new Set(granted)] }
  })
}

/** An http(s) URL kept as written (a JWKS URL's trailing slash may matter). */
export function parseHttpUrlExact(value: string): string {
  const url = new URL(value)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http')
  return value
}

/** An HS256 secret: RFC 7518 §3.2 wants a key at least as long as the hash, 32 bytes. */
export function parseJwtSecret(value: string): string | undefined {
  if (value === '') return undefined
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes < 32) throw new ConfigValueError(`it is ${bytes} bytes long; HS256 needs at least 32`)
  return value
}

/** `auto`, or the one character that separates fields (`tab` and `\t` name the tab). */
export function parseCsvDelimiter(value: string): string {
  if (value === 'auto') return value
  const delimiter = value === 'tab' || value === '\\t' ? '\t' : value
  if ([',', ';', '\t', '|'].includes(delimiter)) return delimiter
  throw new Error('not a supported delimiter')
}

/** A Redis key prefix: no spaces or braces (a brace would change Redis Cluster's hash slot). */
export function parseKeyPrefix(value: string): string {
  if (!/^[\w.:-]{1,64}$/.test(value)) throw new Error('not a key prefix')
  return value
}
