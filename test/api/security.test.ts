import type { LightMyRequestResponse } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_QUERY_STRING_LENGTH } from '../../src/api/request-limits.js'
import {
  API_KEY,
  type ApiFixture,
  aRecord,
  expectNoInternals,
  expectProblem,
  importCsv,
  postRecord,
  startApi,
  WITH_KEY,
} from '../helpers/api-fixture.js'
import { csvText } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

interface OpenApiParameter {
  name: string
  in: string
  schema: Record<string, unknown>
}
type OpenApiOperation = {
  parameters?: OpenApiParameter[]
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }
}
type OpenApiDocument = { paths: Record<string, Record<string, OpenApiOperation>> }

describe.each(DIALECTS)('security on %s', (dialect) => {
  let api: ApiFixture | undefined
  const start = async (env: Record<string, string> = {}) => {
    api = await startApi(dialect, env)
    return api
  }
  afterEach(async () => {
    await api?.close()
    api = undefined
  })

  describe('inbound rate limit', () => {
    const get = (
      { app }: ApiFixture,
      url: string,
      headers: Record<string, string> = {},
      remoteAddress = '192.0.2.10',
    ) => app.inject({ method: 'GET', url, headers, remoteAddress })

    it('answers 429 problem with Retry-After in seconds once a client spends its window', async () => {
      const fixture = await start({ API_RATE_LIMIT: '3/1min' })
      for (let i = 0; i < 3; i++) {
        const ok = await get(fixture, '/api/v1/records')
        expect(ok.statusCode).toBe(200)
        expect(ok.headers['x-ratelimit-limit']).toBe('3')
        expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i))
      }

      const refused = await get(fixture, '/api/v1/records')
      const problem = expectProblem(refused, 429)
      expect(problem.code).toBe('RATE_LIMITED')
      expect(problem.type).toBe('urn:coinpipe:problem:rate-limited')
      expect(problem.title).toBe('Too Many Requests')
      const retryAfter = Number(refused.headers['retry-after'])
      expect(Number.isInteger(retryAfter), String(refused.headers['retry-after'])).toBe(true)
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(60)
      expect(refused.headers['x-request-id']).toEqual(expect.any(String))
      expect(refused.headers['x-content-type-options']).toBe('nosniff')
    })

    it('counts every route and every answer of a client in one window, unknown routes and 401s too', async () => {
      const fixture = await start({ API_RATE_LIMIT: '3/1min' })
      expect((await get(fixture, '/api/v1/runs')).statusCode).toBe(200)
      expect((await get(fixture, '/nope')).statusCode).toBe(404)
      const unauthorized = await fixture.app.inject({
        method: 'POST',
        url: '/api/v1/records',
        remoteAddress: '192.0.2.10',
        payload: aRecord(),
      })
      expect(unauthorized.statusCode).toBe(401)
      expectProblem(await get(fixture, '/api/v1/stats'), 429)
    })

    it('never throttles /health', async () => {
      const fixture = await start({ API_RATE_LIMIT: '2/1min' })
      for (let i = 0; i < 6; i++) {
        const response = await get(fixture, i % 2 === 0 ? '/health' : '/health?probe=1')
        expect(response.statusCode).toBe(200)
        expect(response.headers['x-ratelimit-limit']).toBeUndefined()
      }
      expect((await get(fixture, '/api/v1/records')).statusCode).toBe(200)
    })

    it('gives each client address its own window', async () => {
      const fixture = await start({ API_RATE_LIMIT: '1/1min' })
      expect((await get(fixture, '/api/v1/records', {}, '192.0.2.10')).statusCode).toBe(200)
      expectProblem(await get(fixture, '/api/v1/records', {}, '192.0.2.10'), 429)
      expect((await get(fixture, '/api/v1/records', {}, '192.0.2.11')).statusCode).toBe(200)
    })

    it('gives a valid API key its own window, whatever the address, and a wrong key none', async () => {
      const fixture = await start({ API_RATE_LIMIT: '1/1min' })
      expect((await get(fixture, '/api/v1/records')).statusCode).toBe(200)
      expectProblem(await get(fixture, '/api/v1/records'), 429)
      // An invented key would otherwise buy a fresh window per request.
      expectProblem(await get(fixture, '/api/v1/records', { 'x-api-key': 'k-invented-key-000000' }), 429)

      expect((await get(fixture, '/api/v1/records', WITH_KEY)).statusCode).toBe(200)
      const otherAddress = await get(fixture, '/api/v1/records', { 'x-api-key': API_KEY }, '192.0.2.99')
      expectProblem(otherAddress, 429)
      expect(otherAddress.body).not.toContain(API_KEY)
    })

    it('ignores X-Forwarded-For unless TRUST_PROXY is set', async () => {
      const fixture = await start({ API_RATE_LIMIT: '1/1min' })
      expect((await get(fixture, '/api/v1/records', { 'x-forwarded-for': '203.0.113.1' })).statusCode).toBe(
        200,
      )
      expectProblem(await get(fixture, '/api/v1/records', { 'x-forwarded-for': '203.0.113.2' }), 429)
    })

    it('keys on the forwarded client address with TRUST_PROXY=true', async () => {
      const fixture = await start({ API_RATE_LIMIT: '1/1min', TRUST_PROXY: 'true' })
      expect((await get(fixture, '/api/v1/records', { 'x-forwarded-for': '203.0.113.1' })).statusCode).toBe(
        200,
      )
      expectProblem(await get(fixture, '/api/v1/records', { 'x-forwarded-for': '203.0.113.1' }), 429)
      expect((await get(fixture, '/api/v1/records', { 'x-forwarded-for': '203.0.113.2' })).statusCode).toBe(
        200,
      )
    })

    it('is off with API_RATE_LIMIT=off', async () => {
      const fixture = await start({ API_RATE_LIMIT: 'off' })
      for (let i = 0; i < 5; i++) {
        const response = await get(fixture, '/api/v1/records')
        expect(response.statusCode).toBe(200)
        expect(response.headers['x-ratelimit-limit']).toBeUndefined()
      }
    })

    it('allows 600 requests a minute by default', async () => {
      const response = await get(await start(), '/api/v1/records')
      expect(response.headers['x-ratelimit-limit']).toBe('600')
    })
  })

  describe('security headers', () => {
    const expectSecurityHeaders = (response: LightMyRequestResponse) => {
      expect(response.headers['x-content-type-options']).toBe('nosniff')
      expect(response.headers['x-frame-options']).toBe('DENY')
      const csp = String(response.headers['content-security-policy'])
      expect(csp).toContain("default-src 'self'")
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).toContain("object-src 'none'")
      expect(csp).not.toContain('upgrade-insecure-requests')
      expect(scriptSrc(csp)).not.toContain("'unsafe-inline'")
      expect(scriptSrc(csp)).not.toContain("'unsafe-eval'")
      return csp
    }
    const scriptSrc = (csp: string) => /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1] ?? ''

    it('serves the dashboard with every script from this origin and none inline, under the site-wide CSP', async () => {
      const { app } = await start()
      const response = await app.inject({ method: 'GET', url: '/' })
      expect(response.statusCode).toBe(200)
      const csp = expectSecurityHeaders(response)
      expect(scriptSrc(csp)).toBe("'self'")

      const scripts = [...response.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)]
      expect(scripts.length).toBeGreaterThan(0)
      for (const [, attributes, text] of scripts) {
        expect(text!.trim(), 'no inline script').toBe('')
        expect(attributes).toMatch(/\ssrc="\/dashboard\/[\w.-]+"/)
      }
      // Inline handlers (onclick=…) would be blocked by script-src-attr 'none'.
      expect(response.body).not.toMatch(/\son[a-z]+\s*=/i)

      for (const [path, type] of [
        ['/dashboard/app.js', 'text/javascript'],
        ['/dashboard/app.css', 'text/css'],
      ] as const) {
        const file = await app.inject({ method: 'GET', url: path, headers: { 'accept-encoding': 'gzip' } })
        expect(file.statusCode, path).toBe(200)
        expect(file.headers['content-type']).toContain(type)
        expect(file.headers['content-encoding']).toBe('gzip')
        expectSecurityHeaders(file)
        // The browser keeps it and asks whether it changed: a 304 while it has not.
        const again = await app.inject({
          method: 'GET',
          url: path,
          headers: { 'if-none-match': String(file.headers.etag) },
        })
        expect(again.statusCode, path).toBe(304)
      }
      const missing = await app.inject({ method: 'GET', url: '/dashboard/nope.js' })
      expect(missing.statusCode).toBe(404)
      expect(missing.headers['content-type']).toContain('application/problem+json')
    })

    it('serves the interactive docs with a CSP their scripts pass: all of them from this origin', async () => {
      const { app } = await start()
      let response = await app.inject({ method: 'GET', url: '/docs' })
      if (response.statusCode === 302) {
        response = await app.inject({
          method: 'GET',
          url: new URL(String(response.headers.location), 'http://local/docs').pathname,
        })
      }
      expect(response.statusCode).toBe(200)
      expect(response.headers['content-type']).toMatch(/^text\/html/)
      expectSecurityHeaders(response)
      const sources = [...response.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)].map(
        ([, attributes, text]) => {
          expect(text!.trim(), 'no inline script').toBe('')
          return /src="([^"]+)"/.exec(attributes!)?.[1] ?? ''
        },
      )
      expect(sources.length).toBeGreaterThan(0)
      for (const src of sources) {
        expect(src).not.toMatch(/^(https?:)?\/\//)
        const script = await app.inject({ method: 'GET', url: new URL(src, 'http://local/docs/').pathname })
        expect(script.statusCode, src).toBe(200)
        expect(script.headers['content-type']).toMatch(/javascript/)
      }
    })

    it.each([
      ['the OpenAPI document', '/openapi.json', 200],
      ['a list', '/api/v1/records', 200],
      ['the health check', '/health', 200],
      ['an unknown route', '/nope', 404],
      ['a validation error', '/api/v1/records?limit=0', 400],
    ])('sends them with %s', async (_what, url, status) => {
      const { app } = await start()
      const response = await app.inject({ method: 'GET', url })
      expect(response.statusCode).toBe(status)
      expectSecurityHeaders(response)
    })
  })

  describe('CORS', () => {
    const preflight = (fixture: ApiFixture, origin: string) =>
      fixture.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/records',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      })

    it('is off by default: no Access-Control-Allow-Origin, and no preflight route', async () => {
      const fixture = await start()
      const response = await fixture.app.inject({
        method: 'GET',
        url: '/api/v1/records',
        headers: { origin: 'https://app.example.com' },
      })
      expect(response.statusCode).toBe(200)
      expect(response.headers['access-control-allow-origin']).toBeUndefined()
      const refused = await preflight(fixture, 'https://app.example.com')
      expect(refused.headers['access-control-allow-origin']).toBeUndefined()
      expectProblem(refused, 404)
    })

    it('echoes a configured origin on a preflight and on a request, and no other origin', async () => {
      const fixture = await start({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' })
      const allowed = await preflight(fixture, 'https://app.example.com')
      expect(allowed.statusCode).toBe(204)
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com')
      expect(String(allowed.headers['access-control-allow-methods'])).toContain('POST')
      expect(String(allowed.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization')

      const get = await fixture.app.inject({
        method: 'GET',
        url: '/api/v1/records',
        headers: { origin: 'http://localhost:3000' },
      })
      expect(get.headers['access-control-allow-origin']).toBe('http://localhost:3000')
      expect(String(get.headers['access-control-expose-headers'])).toContain('x-request-id')

      const other = await preflight(fixture, 'https://evil.example.net')
      expect(other.headers['access-control-allow-origin']).toBeUndefined()
    })

    it('allows any origin with CORS_ORIGINS=*', async () => {
      const fixture = await start({ CORS_ORIGINS: '*' })
      const response = await preflight(fixture, 'https://anywhere.example.org')
      expect(response.statusCode).toBe(204)
      expect(response.headers['access-control-allow-origin']).toBe('*')
    })
  })

  describe('request limits', () => {
    it('answers 414 problem naming the query string when it is too long', async () => {
      const { app } = await start()
      const ok = await app.inject({ method: 'GET', url: `/api/v1/records?symbol=BTC&x=${'a'.repeat(10)}` })
      expectProblem(ok, 400, 'x')
      const response = await app.inject({
        method: 'GET',
        url: `/api/v1/records?symbol=${'a'.repeat(MAX_QUERY_STRING_LENGTH)}`,
      })
      expectProblem(response, 414, 'querystring')
    })

    it.each([
      ['a path parameter over 200 characters', `/api/v1/records/${'1'.repeat(201)}`, 414, 'path'],
      ['a path that is not validly percent-encoded', '/api/v1/records/%E0%A4%A', 400, 'path'],
      ['a NUL in a query value', '/api/v1/records?symbol=B%00TC', 400, 'symbol'],
      ['a NUL in a query name', '/api/v1/records?sym%00bol=BTC', 400, 'sym\\u0000bol'],
      ['a NUL in a path parameter', '/api/v1/batches/1%00', 400, 'id'],
      ['an infinite id', '/api/v1/records/Infinity', 400, 'id'],
      ['an id past 2^53', '/api/v1/records/99999999999999999999', 400, 'id'],
      ['an infinite query integer', '/api/v1/rejections?run_id=1e400', 400, 'run_id'],
      ['an id past 2^53 in the query', '/api/v1/runs/compare?base=1&head=99999999999999999999', 400, 'head'],
    ])('answers %s with a problem naming the field', async (_what, url, status, field) => {
      const { app } = await start()
      expectProblem(await app.inject({ method: 'GET', url }), status, field)
    })

    it.each([
      ['a NUL in a string', { symbol: 'B\u0000TC' }, 'symbol'],
      ['a lone surrogate in a string', { name: '\ud800' }, 'name'],
      ['a rank past PostgreSQL integer', { rank: 2 ** 31 }, 'rank'],
      ['an infinite price', { price_usd: 'INFINITE' }, 'price_usd'],
    ])('refuses a record with %s, naming the field', async (_what, overrides, field) => {
      const { app } = await start()
      const payload = JSON.stringify(aRecord(overrides)).replace('"INFINITE"', '1e400')
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/records',
        headers: { ...WITH_KEY, 'content-type': 'application/json' },
        payload,
      })
      expectProblem(response, 400, field)
    })

    it.each([
      ['not JSON', 'application/json', '{"symbol":', 400, 'body'],
      ['another media type', 'application/xml', '<symbol>BTC</symbol>', 415, 'content-type'],
    ])('answers a body that is %s with a problem naming it', async (_what, type, payload, status, field) => {
      const { app } = await start()
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/records',
        headers: { ...WITH_KEY, 'content-type': type },
        payload,
      })
      expectProblem(response, status, field)
    })

    it('answers 413 problem for a body over API_BODY_LIMIT_BYTES on any POST', async () => {
      const { app } = await start({ API_BODY_LIMIT_BYTES: '2048' })
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: { ...WITH_KEY, 'content-type': 'application/json' },
        payload: JSON.stringify({ source: 'csv', pad: 'x'.repeat(4096) }),
      })
      expectProblem(response, 413)
    })

    it('answers 413 problem for a record body over 16 KiB even under a larger API_BODY_LIMIT_BYTES', async () => {
      const { app } = await start({ API_BODY_LIMIT_BYTES: '1048576' })
      const response = await postRecord(app, aRecord({ name: 'x'.repeat(17_000) }))
      expectProblem(response, 413)
    })

    it('bounds every string, integer and array parameter and body field in the OpenAPI document', async () => {
      const { app } = await start()
      const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>()
      const unbounded: string[] = []
      const check = (where: string, schema: Record<string, unknown>) => {
        const types = ([] as unknown[]).concat(schema.type)
        if (schema.enum !== undefined || schema.const !== undefined) return
        if (types.includes('string') && schema.maxLength === undefined) unbounded.push(`${where}: maxLength`)
        // Floats are checked by the fuzzer; an unbounded integer overflows a database integer column.
        if (types.includes('integer') && schema.maximum === undefined) unbounded.push(`${where}: maximum`)
        if (types.includes('array') && schema.maxItems === undefined) unbounded.push(`${where}: maxItems`)
        for (const [name, inner] of Object.entries((schema.properties ?? {}) as Record<string, never>))
          check(`${where}.${name}`, inner)
        if (schema.items) check(`${where}[]`, schema.items as Record<string, unknown>)
      }
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          for (const parameter of operation.parameters ?? [])
            check(`${method.toUpperCase()} ${path} ${parameter.in} ${parameter.name}`, parameter.schema)
          for (const [type, content] of Object.entries(operation.requestBody?.content ?? {}))
            check(`${method.toUpperCase()} ${path} body (${type})`, content.schema)
        }
      }
      expect(unbounded).toEqual([])
    })
  })

  describe('internal errors', () => {
    const READS = [
      '/api/v1/records',
      '/data?symbol=BTC',
      '/api/v1/records/1',
      '/api/v1/rejections',
      '/api/v1/runs',
      '/api/v1/runs/1',
      '/api/v1/runs/compare?base=1&head=1',
      '/api/v1/stats',
      '/api/v1/schema-changes',
      '/api/v1/batches/1',
      '/api/v1/batches/1?include=payload',
    ]

    it('answers a read over broken tables with a 5xx problem that shows no stack, SQL or path', async () => {
      const fixture = await start()
      await importCsv(fixture.ctx, csvText(4))
      for (const table of ['records', 'etl_runs', 'rejections', 'schema_changes', 'raw_batches', 'assets'])
        await fixture.test.exec(`ALTER TABLE ${table} RENAME TO ${table}_gone`)

      for (const url of READS) {
        const response = await fixture.app.inject({ method: 'GET', url })
        expect([500, 503], `${url}: ${response.body}`).toContain(response.statusCode)
        const problem = expectProblem(response, response.statusCode)
        expectNoInternals(response.body)
        expect(response.body, url).not.toMatch(
          /\bselect\s|\bfrom\s+"|_gone|\.(ts|js|db)\b|coinpipe-test|\/tmp\//i,
        )
        expect(problem.detail).toContain(problem.request_id)
      }
      const write = await postRecord(fixture.app, aRecord())
      expect([500, 503]).toContain(write.statusCode)
      expectNoInternals(write.body)
      expect(write.body).not.toMatch(/_gone|records/i)
    })
  })
})
