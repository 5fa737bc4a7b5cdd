import fc from 'fast-check'
import type { AppRoute, JsonSchema } from './app-routes.js'

/**
 * fast-check arbitraries for hostile HTTP requests against one route: path parameters, query
 * strings and bodies that are mostly valid by the route's own schemas (so they reach the handler
 * and the database) with hostile values inside, plus a share of outright garbage.
 */

const HOSTILE = [
  '',
  ' ',
  '0',
  '-1',
  '1',
  '2',
  '1.5',
  '1e400',
  '-1e400',
  'NaN',
  'Infinity',
  '2147483648',
  '9007199254740993',
  '9223372036854775808',
  '99999999999999999999999999',
  '0x10',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'null',
  'undefined',
  'true',
  'false',
  '[]',
  '{}',
  "' OR 1=1 --",
  '"; DROP TABLE records; --',
  "1; SELECT * FROM assets WHERE '1'='1",
  '%',
  '%00',
  '\u0000',
  'a\u0000b',
  '\uFFFF',
  '\uD800',
  '\u202E',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🚀',
  '../../etc/passwd',
  '..%2f..%2f',
  '<script>alert(1)</script>',
  'desc',
  'asc',
  'payload',
  'csv',
  'coingecko',
  'coinpaprika',
  'manual',
  'succeeded',
  'BTC',
  'bitcoin',
  '2024-01-01',
  '2024-01-01T00:00:00Z',
  '2024-02-30',
  '2024-01-01T25:61:61Z',
  '1700000000',
  '1700000000000',
  '-62198755200',
  '8640000000000001',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
  '0000-00-00',
  '9999-12-31T23:59:59.999Z',
]

const numberText = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.double().map(String),
)

/** ISO 8601 times as we print them, mostly of this century. */
const isoTime = fc
  .oneof(
    {
      weight: 6,
      arbitrary: fc.date({ min: new Date('2000-01-01'), max: new Date('2035-01-01'), noInvalidDate: true }),
    },
    { weight: 1, arbitrary: fc.date({ noInvalidDate: true }) },
  )
  .map((d) => d.toISOString())
const cursorPart = fc.oneof(
  fc.constantFrom(...HOSTILE),
  isoTime,
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 31, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 1e308),
  fc.jsonValue({ maxDepth: 2 }),
)
/** base64url cursors over arrays shaped like ours (order, time, id), with parts of any type and size. */
const cursorText = fc
  .oneof(
    fc.tuple(fc.constant('desc'), isoTime, fc.nat()),
    fc.tuple(fc.constant('desc'), fc.nat()),
    fc.tuple(fc.constantFrom('desc', 'asc'), isoTime, fc.oneof(fc.nat(), cursorPart)),
    fc.tuple(fc.constantFrom('desc', 'asc'), fc.oneof(fc.nat(), cursorPart)),
    fc.array(cursorPart, { maxLength: 4 }),
    fc.jsonValue({ maxDepth: 2 }),
  )
  .map((parts) => Buffer.from(JSON.stringify(parts) ?? 'null').toString('base64url'))

const hostileText = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: numberText },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 100, maxLength: 600 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1000, maxLength: 5000 }) },
  { weight: 1, arbitrary: cursorText },
)

/** A JSON value of any type, hostile numbers included. */
const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(...HOSTILE),
  fc.double(),
  fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 63, 1e308, -1e308, 5e-324, -0, null, true, [], {}),
)

const types = (schema: JsonSchema): unknown[] => ([] as unknown[]).concat(schema.type ?? [])
const bound = (value: unknown, fallback: number) => (typeof value === 'number' ? value : fallback)

/**
 * Values `schema` accepts, with its bounds and its edges, so a request gets past validation and
 * reaches the handler and the database; names that look like times get times.
 */
function validFor(schema: JsonSchema, name: string): fc.Arbitrary<unknown> {
  const options: fc.WeightedArbitrary<unknown>[] = []
  const add = (arbitrary: fc.Arbitrary<unknown>, weight = 1) => options.push({ arbitrary, weight })
  if (Array.isArray(schema.enum)) add(fc.constantFrom(...(schema.enum as unknown[])))
  const kinds = types(schema)
  if (kinds.includes('integer') || kinds.includes('number')) {
    const min = bound(schema.minimum, -(2 ** 53))
    const max = bound(schema.maximum, 2 ** 53)
    const edges = fc.constantFrom(min, max, min + 1, max - 1, 0, 1, 100, 1000, 2 ** 31 - 1, 2 ** 31)
    add(fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) }))
    // Small values are the ids and counts that exist.
    if (max >= Math.max(min, 0))
      add(fc.integer({ min: Math.max(min, 0), max: Math.min(max, Math.max(min, 0) + 5) }), 3)
    add(edges.filter((n) => n >= min && n <= max))
    if (kinds.includes('number')) add(fc.double({ min, max, noNaN: true }))
  }
  if (kinds.includes('boolean')) add(fc.boolean())
  if (kinds.includes('null')) add(fc.constant(null))
  if (kinds.includes('string') && !Array.isArray(schema.enum)) {
    const maxLength = bound(schema.maxLength, 64)
    const minLength = bound(schema.minLength, 0)
    const fits = (text: string) => text.length >= minLength && text.length <= maxLength
    add(fc.string({ unit: 'binary', minLength, maxLength: Math.min(maxLength, 80) }))
    add(fc.string({ unit: 'grapheme', minLength, maxLength }), 3)
    add(fc.constantFrom(...HOSTILE).filter(fits))
    add(fc.constantFrom('a\u0000b', '\u0000').filter(fits))
    // A time or a cursor must parse to reach the database, so those are mostly well-formed.
    if (/(_at|^from|^to|time|date)$/.test(name)) add(isoTime.filter(fits), 30)
    if (name === 'cursor') add(cursorText.filter(fits), 8)
  }
  return options.length === 0 ? hostileJson : fc.oneof(...options)
}

/** Percent-encodes every byte outside the unreserved set, lone surrogates included (as U+FFFD). */
const encode = (text: string) =>
  [...Buffer.from(text, 'utf8')]
    .map((b) =>
      /[\w.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('')

const RAW_QUERY_TAILS = ['&', '&&', '=', '&=x', '%', '%zz', '&a=%E0%A4%A', '&%ff=%fe', '&;=;']
const ODD_NAMES = ['__proto__', 'constructor', 'x', 'a[b]', '[]', 'limit[]', 'toString']

/**
 * Declared parameters, each present half of the time with a value its schema accepts (hostile
 * ones included: SQL, unicode, edges), then at most one mutation: a value of any kind, a
 * repeated or undeclared parameter, or raw junk. One refused value makes the whole request a 400
 * before any query runs, so most requests stay valid and reach the database.
 */
export const queryString = (route: AppRoute) => {
  const names = Object.keys(route.queryParams)
  const declared = Object.entries(route.queryParams).map(([name, schema]) =>
    fc.option(
      validFor(schema, name).map((value): [string, string] => [name, String(value)]),
      { freq: route.queryRequired.includes(name) ? 1_000_000 : 2, nil: undefined },
    ),
  )
  const mutation = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ pairs: [] as [string, string][], tail: '' }) },
    {
      weight: names.length > 0 ? 2 : 0,
      arbitrary: fc
        .tuple(fc.constantFrom('', ...names), hostileText)
        .map(([name, value]) => ({ pairs: [[name, value]] as [string, string][], tail: '' })),
    },
    {
      weight: names.length > 0 ? 1 : 0,
      arbitrary: fc
        .constantFrom('', ...names)
        .chain((name) =>
          fc
            .array(validFor(route.queryParams[name] ?? {}, name), { minLength: 2, maxLength: 3 })
            .map((values) => ({ pairs: values.map((v): [string, string] => [name, String(v)]), tail: '' })),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.oneof(fc.constantFrom(...ODD_NAMES), fc.string({ unit: 'binary', maxLength: 12 })),
          hostileText,
        )
        .map((pair) => ({ pairs: [pair], tail: '' })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...RAW_QUERY_TAILS)
        .map((tail) => ({ pairs: [] as [string, string][], tail })),
    },
  )
  return fc.tuple(fc.tuple(...declared), mutation).map(([present, { pairs, tail }]) => {
    const replaced = new Set(pairs.map(([name]) => name))
    const kept = present.filter(
      (pair): pair is [string, string] => pair !== undefined && !replaced.has(pair[0]),
    )
    return [...kept, ...pairs].map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&') + tail
  })
}

const PATH_SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '%2F',
  '%00',
  '.env',
  '.hidden',
  'index.html',
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'package.json',
  'etc',
  'passwd',
]

export const pathValue = (name: string) =>
  name === '*'
    ? fc
        .array(fc.oneof(fc.constantFrom(...PATH_SEGMENTS), hostileText.map(encode)), { maxLength: 5 })
        .map((parts) => parts.join('/'))
    : fc.oneof(
        { weight: 5, arbitrary: fc.integer({ min: 1, max: 5 }).map(String) },
        { weight: 4, arbitrary: hostileText.map(encode) },
        { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '..', '%2e%2e', '%2F', ' ', 'x'.repeat(300)) },
      )

const nested = (depth: number, open: string, close: string) => open.repeat(depth) + '1' + close.repeat(depth)

/**
 * A body near a valid one: every required property and some optional ones, with values their
 * schemas accept, then at most one mutation: a value of any type, a required property left out,
 * or an extra key (`__proto__` among them).
 */
const bodyObject = (route: AppRoute) => {
  const properties = Object.entries(route.bodyProperties)
  const required = new Set(route.bodyRequired)
  const values = properties.map(([name, schema]) =>
    fc.option(
      validFor(schema, name).map((value): [string, unknown] => [name, value]),
      { freq: required.has(name) ? 1_000_000 : 2, nil: undefined },
    ),
  )
  const names = properties.map(([name]) => name)
  const mutation = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ set: [] as [string, unknown][], drop: '' }) },
    {
      weight: names.length > 0 ? 2 : 0,
      arbitrary: fc
        .tuple(fc.constantFrom('', ...names), hostileJson)
        .map(([name, value]) => ({ set: [[name, value]] as [string, unknown][], drop: name })),
    },
    {
      weight: required.size > 0 ? 1 : 0,
      arbitrary: fc.constantFrom('', ...required).map((drop) => ({ set: [] as [string, unknown][], drop })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra'), hostileJson),
          // What a prototype-pollution attempt sends; the fuzz test checks `({}).polluted` after each request.
          fc.constantFrom<[string, unknown]>(
            ['__proto__', { polluted: true }],
            ['constructor', { prototype: { polluted: true } }],
          ),
        )
        .map((pair) => ({ set: [pair], drop: '' })),
    },
  )
  return fc
    .tuple(fc.tuple(...values), mutation)
    .map(([present, { set, drop }]): [string, unknown][] => [
      ...present.filter((pair): pair is [string, unknown] => pair !== undefined && pair[0] !== drop),
      ...set,
    ])
}

export interface FuzzBody {
  readonly contentType: string | undefined
  readonly payload: string | undefined
}

const json = (payload: string): FuzzBody => ({ contentType: 'application/json', payload })
/** JSON text of key/value pairs, so a `__proto__` key stays a key (an object literal would drop it). */
const rawJson = (pairs: [string, unknown][]) =>
  `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`

export const requestBody = (route: AppRoute): fc.Arbitrary<FuzzBody> =>
  fc.oneof(
    { weight: 14, arbitrary: bodyObject(route).map((pairs) => json(rawJson(pairs))) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 8 }).map((v) => json(JSON.stringify(v))) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('', '{', '{"a":', 'nul', '\u0000', '{"source":"csv",}', "{'a':1}", '[1,2', '"\\ud800"')
        .map(json),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map(json) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 100, max: 8000 }),
          fc.constantFrom(['[', ']'] as const, ['{"a":', '}'] as const),
        )
        .map(([depth, [open, close]]) => json(nested(depth, open, close))),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/json; charset=utf-16',
            'application/xml',
            'application/json, text/plain',
            ' application/json ',
          ),
          fc.string({ maxLength: 100 }),
        )
        .map(([contentType, payload]) => ({ contentType, payload })),
    },
    { weight: 1, arbitrary: fc.constant({ contentType: undefined, payload: undefined }) },
  )

/** No upstream reachable and no CSV file: a run a fuzzer starts fails at once, offline. */
export const OFFLINE_SOURCES = {
  CSV_PATHS: '/nonexistent/coinpipe-fuzz/missing.csv',
  COINGECKO_BASE_URL: 'http://127.0.0.1:9/api/v3',
  COINPAPRIKA_BASE_URL: 'http://127.0.0.1:9/v1',
  UPSTREAM_MAX_RETRIES: '0',
  UPSTREAM_CONNECT_TIMEOUT_MS: '200',
  UPSTREAM_READ_TIMEOUT_MS: '200',
}
