import { createHash } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { exportSPKI, generateKeyPair } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../src/api/build-app.js'
import type { JwksOptions } from '../../src/api/jwt-verifier.js'
import { mergeOverrides } from '../../src/identity/identity-settings.js'
import { identitySettingsOf, type PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { aRecord, expectProblem, importCsv } from '../helpers/api-fixture.js'
import {
  aClosedPort,
  aSigningKey,
  signToken,
  startJwksServer,
  unsignedToken,
  type JwksServer,
  type SigningKey,
} from '../helpers/jwks-server.js'
import { csvText, pipelineContext, testConfig, writeCsv } from '../helpers/pipeline-fixture.js'
import {
  createTestDatabase,
  DIALECTS,
  type DialectName,
  type TestDatabase,
} from '../helpers/test-database.js'
import { waitFor } from '../helpers/wait-for.js'

const ISSUER = 'https://id.example.test/realms/coinpipe'
const AUDIENCE = 'coinpipe'
/** Grants read and records:write only. */
const WRITER_KEY = 'k-records-writer-0001'
/** Names no scope: may do everything. */
const ALL_KEY = 'k-every-scope-000002'
const SECRET = 'a-shared-hs256-secret-of-32-bytes!'
const NOW_S = () => Math.floor(Date.now() / 1000)
const keyActor = (key: string) =>
  `key:${createHash('sha256').update(key).digest().subarray(0, 16).toString('hex')}`
const bearer = (value: string) => ({ authorization: `Bearer ${value}` })

interface AuthApi {
  readonly test: TestDatabase
  readonly ctx: PipelineContext
  readonly app: App
}

describe.each(DIALECTS)('authentication on %s', (dialect: DialectName) => {
  let signing: SigningKey
  let jwks: JwksServer
  let opened: { test: TestDatabase; app?: App }[] = []

  beforeAll(async () => {
    signing = await aSigningKey('key-1')
    jwks = await startJwksServer([signing])
  })
  afterAll(() => jwks.close())
  afterEach(async () => {
    for (const { test, app } of opened.reverse()) {
      await app?.close()
      await test.destroy()
    }
    opened = []
  })

  /** The API with API keys and JWKS tokens; `env` and `jwksOptions` adjust it. */
  const start = async (
    env: Record<string, string> = {},
    opts: { jwks?: JwksOptions; pipeline?: (ctx: PipelineContext) => Partial<PipelineContext> } = {},
  ): Promise<AuthApi> => {
    const test = await createTestDatabase(dialect)
    const entry: { test: TestDatabase; app?: App } = { test }
    opened.push(entry)
    const vars = {
      DATABASE_URL: test.url,
      API_KEYS: `${WRITER_KEY}:read+records:write,${ALL_KEY}`,
      AUTH_JWKS_URL: jwks.url,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: `${AUDIENCE},coinpipe-other`,
      CSV_PATHS: writeCsv(csvText(4)),
      ...env,
    }
    const base = pipelineContext(test, vars)
    const ctx = { ...base, ...opts.pipeline?.(base) }
    const app = await buildApp(testConfig(vars), ctx, {
      jwks: { cooldownMs: 0, timeoutMs: 1_000, ...opts.jwks },
    })
    await app.ready()
    entry.app = app
    return { test, ctx, app }
  }

  const token = (claims: Record<string, unknown> = {}, key: SigningKey = signing) =>
    signToken(key, { iss: ISSUER, aud: AUDIENCE, sub: 'alice', scope: 'records:write', ...claims })
  const postRecord = (app: App, headers: Record<string, string>, body = aRecord()) =>
    app.inject({ method: 'POST', url: '/api/v1/records', headers, payload: body })
  const postRun = (app: App, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/api/v1/runs', headers, payload: { source: 'csv' } })
  const waitForRuns = (api: AuthApi) =>
    waitFor(
      async () =>
        (await api.test.db.kysely.selectFrom('etlRuns').select('status').execute()).every(
          (r) => r.status !== 'running',
        ),
      {
        what: 'the runs to finish',
      },
    )

  /** A 401 problem with RFC 6750's invalid_token challenge, naming `reason`, never echoing `sent`. */
  const expectInvalidToken = (response: LightMyRequestResponse, reason: RegExp, sent: string) => {
    const problem = expectProblem(response, 401)
    expect(problem.code).toBe('UNAUTHORIZED')
    expect(problem.detail).toMatch(reason)
    expect(response.headers['www-authenticate']).toBe('Bearer realm="coinpipe", error="invalid_token"')
    for (const part of [sent, ...sent.split('.').filter((p) => p.length > 8)])
      expect(response.body).not.toContain(part)
  }

  describe('JWT bearer tokens verified against the JWKS', () => {
    it('accepts a valid token with the scope (201), and the record says who posted it: jwt:<sub>', async () => {
      const api = await start()
      const response = await postRecord(api.app, bearer(await token()))
      expect(response.statusCode, response.body).toBe(201)
      const record = response.json<{ id: number; added_by: string | null }>()
      expect(record.added_by).toBe('jwt:alice')

      const read = await api.app.inject({ method: 'GET', url: `/api/v1/records/${record.id}` })
      expect(read.json()).toMatchObject({ id: record.id, added_by: 'jwt:alice' })
      const batches = await api.test.db.kysely.selectFrom('rawBatches').select('addedBy').execute()
      expect(batches).toEqual([{ addedBy: 'jwt:alice' }])
    })

    it('starts a run for a token with runs:write (202), and the run history shows who started it', async () => {
      const api = await start()
      const response = await postRun(api.app, bearer(await token({ sub: 'ops-bot', scp: ['runs:write'] })))
      expect(response.statusCode, response.body).toBe(202)
      expect(response.json()).toMatchObject({ trigger: 'api', started_by: 'jwt:ops-bot' })
      await waitForRuns(api)

      const runs = await api.app.inject({ method: 'GET', url: '/api/v1/runs' })
      expect(runs.json<{ data: unknown[] }>().data).toEqual([
        expect.objectContaining({ source: 'csv', status: 'succeeded', started_by: 'jwt:ops-bot' }),
      ])
      const id = response.json<{ id: number }>().id
      const detail = await api.app.inject({ method: 'GET', url: `/api/v1/runs/${id}` })
      expect(detail.json()).toMatchObject({ id, started_by: 'jwt:ops-bot' })
    })

    it('reads scopes from scope (space-separated) and scp (a string or an array), ignoring unknown ones', async () => {
      const api = await start()
      for (const claims of [
        { scope: 'openid profile records:write' },
        { scope: undefined, scp: 'email records:write' },
        { scope: undefined, scp: ['records:write', 42] },
      ]) {
        const response = await postRecord(api.app, bearer(await token(claims)))
        expect([200, 201], JSON.stringify(claims)).toContain(response.statusCode)
      }
    })

    it('accepts a token a few seconds past its exp (30 s of clock skew), and refuses an expired one', async () => {
      const api = await start()
      const skewed = await token({ exp: NOW_S() - 10 })
      expect((await postRecord(api.app, bearer(skewed))).statusCode).toBe(201)
      const expired = await token({ exp: NOW_S() - 120 })
      expectInvalidToken(await postRecord(api.app, bearer(expired)), /the token expired at \d{4}-/, expired)
    })

    it('refuses a token that is not valid yet', async () => {
      const api = await start()
      const early = await token({ nbf: NOW_S() + 120 })
      expectInvalidToken(await postRecord(api.app, bearer(early)), /not valid yet/, early)
    })

    it('refuses a token of another issuer, and one meant for another audience', async () => {
      const api = await start()
      const foreign = await token({ iss: 'https://evil.example.test' })
      expectInvalidToken(await postRecord(api.app, bearer(foreign)), /another issuer/, foreign)
      const elsewhere = await token({ aud: 'billing-api' })
      expectInvalidToken(await postRecord(api.app, bearer(elsewhere)), /another audience/, elsewhere)
      expect(
        (await postRecord(api.app, bearer(await token({ aud: ['x', 'coinpipe-other'] })))).statusCode,
      ).toBe(201)
    })

    it('refuses a token whose signature does not verify: signed by another key under the same kid', async () => {
      const api = await start()
      const forged = await token({}, await aSigningKey(signing.kid))
      expectInvalidToken(await postRecord(api.app, bearer(forged)), /signature does not verify/, forged)
    })

    it('refuses an unsigned token (alg none)', async () => {
      const api = await start()
      const unsigned = unsignedToken({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'alice',
        scope: 'records:write',
        exp: NOW_S() + 300,
      })
      expectInvalidToken(await postRecord(api.app, bearer(unsigned)), /alg "none"/, unsigned)
    })

    it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
      const api = await start()
      const { publicKey } = await generateKeyPair('RS256', { extractable: true })
      const pem = new TextEncoder().encode(await exportSPKI(publicKey))
      const confused = await signToken(
        { privateKey: pem, kid: signing.kid, alg: 'HS256' },
        { iss: ISSUER, aud: AUDIENCE, sub: 'alice', scope: 'records:write' },
      )
      expectInvalidToken(
        await postRecord(api.app, bearer(confused)),
        /algorithm is not accepted.*RS256/,
        confused,
      )
    })

    it('refuses a token without a sub or an exp', async () => {
      const api = await start()
      const anonymous = await token({ sub: undefined })
      expectInvalidToken(await postRecord(api.app, bearer(anonymous)), /no "sub" claim/, anonymous)
      const eternal = await token({ exp: undefined })
      expectInvalidToken(await postRecord(api.app, bearer(eternal)), /no "exp" claim/, eternal)
    })

    it('takes a key the provider rotated in, without a restart: unknown kid 401, then the new JWKS is fetched', async () => {
      const api = await start()
      expect((await postRecord(api.app, bearer(await token()))).statusCode).toBe(201)
      const rotated = await aSigningKey('key-2', 'ES256')
      const early = await token({}, rotated)
      expectInvalidToken(
        await postRecord(api.app, bearer(early)),
        /no signing key .* matches the token's kid/,
        early,
      )

      jwks.publish([signing, rotated])
      const fetchesBefore = jwks.fetches
      const accepted = await postRecord(
        api.app,
        bearer(await token({ sub: 'bob' }, rotated)),
        aRecord({ observed_at: '2024-03-02T12:00:00Z' }),
      )
      expect(accepted.statusCode, accepted.body).toBe(201)
      expect(accepted.json()).toMatchObject({ added_by: 'jwt:bob' })
      expect(jwks.fetches).toBe(fetchesBefore + 1)
      jwks.publish([signing])
    })

    it('answers 503 AUTH_PROVIDER_UNAVAILABLE when the JWKS cannot be fetched, and keeps cached keys working', async () => {
      const down = await start({ AUTH_JWKS_URL: `http://127.0.0.1:${await aClosedPort()}/jwks` })
      const sent = await token()
      const response = await postRecord(down.app, bearer(sent))
      const problem = expectProblem(response, 503)
      expect(problem.code).toBe('AUTH_PROVIDER_UNAVAILABLE')
      expect(response.headers['retry-after']).toBe('5')
      expect(response.body).not.toContain(sent)
      expect(response.body).not.toContain('127.0.0.1')

      // A provider that goes away after its keys were fetched: known kids verify from the cache; an
      // unknown kid, which would need a fetch, is a 503 and not a 401.
      const provider = await startJwksServer([signing])
      const api = await start({ AUTH_JWKS_URL: provider.url })
      expect((await postRecord(api.app, bearer(await token()))).statusCode).toBe(201)
      await provider.close()
      expect(
        (await postRecord(api.app, bearer(await token()), aRecord({ observed_at: '2024-03-03T12:00:00Z' })))
          .statusCode,
      ).toBe(201)
      const unknownKid = await token({}, await aSigningKey('key-3'))
      expect(expectProblem(await postRecord(api.app, bearer(unknownKid)), 503).code).toBe(
        'AUTH_PROVIDER_UNAVAILABLE',
      )
    })

    it('answers 403 naming the missing scope, with the insufficient_scope challenge', async () => {
      const api = await start()
      const response = await postRun(api.app, bearer(await token({ scope: 'records:write read' })))
      const problem = expectProblem(response, 403)
      expect(problem).toMatchObject({ code: 'INSUFFICIENT_SCOPE', title: 'Forbidden' })
      expect(problem.detail).toContain('"runs:write"')
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="coinpipe", error="insufficient_scope", scope="runs:write"',
      )
      expect(await api.test.count('etlRuns')).toBe(0)
    })

    it('names the client by its sub in the rate limiter: a valid token gets its own window', async () => {
      const api = await start({ API_RATE_LIMIT: '1/1min' })
      const get = (headers: Record<string, string> = {}) =>
        api.app.inject({ method: 'GET', url: '/api/v1/records', headers, remoteAddress: '192.0.2.10' })
      expect((await get()).statusCode).toBe(200)
      expectProblem(await get(), 429)
      const alice = bearer(await token())
      expect((await get(alice)).statusCode).toBe(200)
      expectProblem(await get(bearer(await token())), 429)
      expect((await get(bearer(await token({ sub: 'carol' })))).statusCode).toBe(200)
      // A forged token buys no window of its own.
      expectProblem(await get(bearer(await token({ sub: 'mallory' }, await aSigningKey(signing.kid)))), 429)
    })
  })

  describe('an HS256 shared secret (AUTH_JWT_SECRET)', () => {
    const hs256 = (claims: Record<string, unknown> = {}) =>
      signToken(
        { privateKey: new TextEncoder().encode(SECRET), alg: 'HS256' },
        { sub: 'etl-robot', scope: 'runs:write records:write', ...claims },
      )

    it('accepts an HS256 token signed with the secret, and nothing signed otherwise', async () => {
      const api = await start({
        AUTH_JWKS_URL: '',
        AUTH_JWT_ISSUER: '',
        AUTH_JWT_AUDIENCE: '',
        AUTH_JWT_SECRET: SECRET,
      })
      const response = await postRecord(api.app, bearer(await hs256()))
      expect(response.statusCode, response.body).toBe(201)
      expect(response.json()).toMatchObject({ added_by: 'jwt:etl-robot' })

      const wrong = await signToken(
        { privateKey: new TextEncoder().encode(`${SECRET}-but-another`), alg: 'HS256' },
        { sub: 'etl-robot', scope: 'records:write' },
      )
      expectInvalidToken(await postRecord(api.app, bearer(wrong)), /signature does not verify/, wrong)
      const rs256 = await token()
      expectInvalidToken(await postRecord(api.app, bearer(rs256)), /accepted: HS256$/, rs256)
    })
  })

  describe('API keys with scopes', () => {
    it('lets a key with read+records:write post records, and answers 403 on runs', async () => {
      const api = await start()
      for (const headers of [bearer(WRITER_KEY), { 'x-api-key': WRITER_KEY }]) {
        expect([200, 201]).toContain((await postRecord(api.app, headers)).statusCode)
        const refused = expectProblem(await postRun(api.app, headers), 403)
        expect(refused.detail).toContain('"runs:write"')
      }
      const record = await api.app.inject({ method: 'GET', url: '/api/v1/records/1' })
      expect(record.json()).toMatchObject({ added_by: keyActor(WRITER_KEY) })
    })

    it('lets a key without scopes do everything, and the run stores the key id, never the key', async () => {
      const api = await start()
      expect((await postRecord(api.app, { 'x-api-key': ALL_KEY })).statusCode).toBe(201)
      const run = await postRun(api.app, bearer(ALL_KEY))
      expect(run.statusCode, run.body).toBe(202)
      expect(run.json()).toMatchObject({ started_by: keyActor(ALL_KEY) })
      await waitForRuns(api)
      const stored = await api.test.db.kysely.selectFrom('etlRuns').select(['trigger', 'startedBy']).execute()
      expect(stored).toEqual([{ trigger: 'api', startedBy: keyActor(ALL_KEY) }])
      const remap = await api.app.inject({
        method: 'POST',
        url: '/api/v1/assets/remap',
        headers: bearer(ALL_KEY),
        payload: { dry_run: true },
      })
      expect(remap.statusCode, remap.body).toBe(200)
      expect(
        JSON.stringify(await api.test.db.kysely.selectFrom('etlRuns').selectAll().execute()),
      ).not.toContain(ALL_KEY)
    })

    it('refuses a wrong key with 401 and the invalid_token challenge, and a request without one with a plain challenge', async () => {
      const api = await start()
      expectInvalidToken(
        await postRecord(api.app, bearer('k-not-a-key-at-all-000')),
        /API key is not valid/,
        'k-not-a-key-at-all-000',
      )
      const none = await postRecord(api.app, {})
      expect(expectProblem(none, 401).detail).toMatch(/X-API-Key.*Bearer <JWT>/)
      expect(none.headers['www-authenticate']).toBe('Bearer realm="coinpipe"')
    })
  })

  describe('POST /api/v1/assets/remap', () => {
    /** XBT and BTC imported as two assets, then an override that says they are one. */
    const startWithMerge = async () => {
      const override = {
        assetId: 'bitcoin',
        members: [
          { source: 'csv', sourceAssetId: 'BTC:bitcoin' },
          { source: 'csv', sourceAssetId: 'XBT:bitcoin (xbt)' },
        ],
        why: 'XBT is the old ticker of BTC in our export',
      }
      let imported: PipelineContext | undefined
      const api = await start(
        {},
        {
          pipeline: (ctx) => {
            imported = ctx
            const settings = identitySettingsOf(ctx)
            return { identity: { ...settings, overrides: mergeOverrides(settings.overrides, [override]) } }
          },
        },
      )
      return { api, imported: imported! }
    }

    it('needs assets:admin: 403 for a key without it, and the remap stores who asked for it', async () => {
      const { api, imported } = await startWithMerge()
      await importCsv(
        imported,
        'date,symbol,name,price_usd\n2025-03-01,XBT,Bitcoin (XBT),86000\n2025-03-02,BTC,Bitcoin,86010\n',
      )
      const remap = (headers: Record<string, string>, dryRun?: boolean) =>
        api.app.inject({
          method: 'POST',
          url: '/api/v1/assets/remap',
          headers,
          payload: dryRun === undefined ? {} : { dry_run: dryRun },
        })
      const refused = expectProblem(await remap(bearer(WRITER_KEY)), 403)
      expect(refused.detail).toContain('"assets:admin"')
      expectProblem(await remap(bearer(await token({ scope: 'records:write runs:write read' }))), 403)

      const admin = bearer(await token({ sub: 'data-steward', scope: 'assets:admin' }))
      const dry = await remap(admin, true)
      expect(dry.statusCode, dry.body).toBe(200)
      expect(dry.json()).toMatchObject({ dry_run: true, records_moved: 1, requested_by: 'jwt:data-steward' })
      expect(await api.test.db.kysely.selectFrom('assetRemaps').selectAll().execute()).toEqual([])

      const done = await remap(admin)
      expect(done.statusCode, done.body).toBe(200)
      const outcome = done.json<{ remap_id: string; moves: unknown[] }>()
      expect(outcome.moves).toEqual([
        expect.objectContaining({ source: 'csv', to_asset_id: 'bitcoin', records_moved: 1 }),
      ])
      const audit = await api.test.db.kysely
        .selectFrom('assetRemaps')
        .select(['remapId', 'trigger', 'requestedBy'])
        .execute()
      expect(audit).toEqual([{ remapId: outcome.remap_id, trigger: 'api', requestedBy: 'jwt:data-steward' }])
    })

    it('answers 400 for a body that is not { dry_run?: boolean }', async () => {
      const { api } = await startWithMerge()
      for (const payload of [{ dry_run: 'yes' }, { dryRun: true }])
        expectProblem(
          await api.app.inject({
            method: 'POST',
            url: '/api/v1/assets/remap',
            headers: bearer(ALL_KEY),
            payload,
          }),
          400,
        )
    })
  })

  describe('with API_READ_KEYS_REQUIRED=true', () => {
    const READS = ['/api/v1/records', '/data', '/api/v1/runs', '/api/v1/assets', '/api/v1/records?limit=0']

    it('needs the read scope for every read, from a key or a token; /health stays public', async () => {
      const writeOnly = 'k-write-only-key-0003'
      const api = await start({
        API_READ_KEYS_REQUIRED: 'true',
        API_KEYS: `${WRITER_KEY}:read+records:write,${writeOnly}:records:write`,
      })
      const reader = bearer(await token({ scope: 'read' }))
      const writer = bearer(await token({ scope: 'records:write' }))
      for (const url of READS) {
        const get = (headers: Record<string, string>) => api.app.inject({ method: 'GET', url, headers })
        expectProblem(await get({}), 401)
        const refused = await get({ 'x-api-key': writeOnly })
        expect(expectProblem(refused, 403).detail, url).toContain('"read"')
        expect(refused.headers['www-authenticate']).toContain('scope="read"')
        expectProblem(await get(writer), 403)
        for (const headers of [{ 'x-api-key': WRITER_KEY }, reader])
          expect([200, 400], url).toContain((await get(headers)).statusCode)
      }
      expect((await api.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)
      // A write needs its own scope only: write scopes do not imply read, nor read write.
      expect((await postRecord(api.app, { 'x-api-key': writeOnly })).statusCode).toBe(201)
      expectProblem(await postRecord(api.app, reader), 403)
    })

    it('accepts tokens alone as the credential for reads (no API_KEYS)', async () => {
      const api = await start({ API_READ_KEYS_REQUIRED: 'true', API_KEYS: '' })
      expectProblem(await api.app.inject({ method: 'GET', url: '/api/v1/records' }), 401)
      const response = await api.app.inject({
        method: 'GET',
        url: '/api/v1/records',
        headers: bearer(await token({ scope: 'read' })),
      })
      expect(response.statusCode).toBe(200)
    })
  })

  describe('the OpenAPI document', () => {
    type Operation = { security?: Record<string, string[]>[]; responses?: Record<string, unknown> }
    const operations = async (env: Record<string, string> = {}) => {
      const api = await start(env)
      const document = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, Operation>>
        components: { securitySchemes: Record<string, Record<string, string>> }
      }>()
      return document
    }

    it('declares both schemes, and each write route its scope and a 403', async () => {
      const document = await operations()
      expect(document.components.securitySchemes).toMatchObject({
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      })
      for (const [path, scope] of [
        ['/api/v1/records', 'records:write'],
        ['/api/v1/runs', 'runs:write'],
        ['/api/v1/batches/{id}/replay', 'runs:write'],
        ['/api/v1/assets/remap', 'assets:admin'],
      ] as const) {
        const post = document.paths[path]?.post
        expect(post?.security, path).toEqual([{ bearer: [scope] }, { apiKey: [scope] }])
        expect(post?.responses, path).toHaveProperty('403')
      }
      expect(document.paths['/api/v1/records']?.get?.security).toBeUndefined()
    })

    it('declares the read scope on every read under /api/ and /data when reads need a key', async () => {
      const document = await operations({ API_READ_KEYS_REQUIRED: 'true' })
      for (const path of ['/api/v1/records', '/data', '/api/v1/runs/{id}', '/api/v1/stats']) {
        expect(document.paths[path]?.get?.security, path).toEqual([
          { bearer: ['read'] },
          { apiKey: ['read'] },
        ])
        expect(document.paths[path]?.get?.responses, path).toHaveProperty('403')
      }
      expect(document.paths['/health']?.get?.security).toBeUndefined()
    })
  })
})
