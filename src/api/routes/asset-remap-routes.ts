import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { remapAssets, remapOutcomeJson } from '../../identity/remap-assets.js'
import { identitySettingsOf, nowIso } from '../../pipeline/pipeline-context.js'
import type { ApiDeps } from '../build-app.js'
import { Nullable, Problem, scopeSecurity } from '../schemas.js'

const RemapBody = Type.Object(
  {
    dry_run: Type.Optional(
      Type.Boolean({ default: false, description: 'show what would move; change nothing' }),
    ),
  },
  { additionalProperties: false },
)

const RemapResult = Type.Object({
  remap_id: Type.String({ description: 'groups the audit rows of this remap in asset_remaps' }),
  dry_run: Type.Boolean(),
  requested_by: Nullable(
    Type.String({ description: 'key:<hash prefix> or jwt:<sub>, stored in each audit row' }),
  ),
  aliases_created: Type.Integer(),
  aliases_updated: Type.Integer(),
  assets_created: Type.Array(Type.String()),
  assets_removed: Type.Array(Type.String()),
  records_moved: Type.Integer(),
  duplicates_dropped: Type.Integer({ description: 'records that met an identical one at their new asset' }),
  records_set_aside: Type.Integer({
    description:
      'records that met a different one at their new asset: kept as IDENTITY_REMAP_CONFLICT rejections',
  }),
  conflicts: Type.Integer({ description: 'identity conflicts reported (GET /api/v1/assets/conflicts)' }),
  moves: Type.Array(
    Type.Object({
      source: Type.String(),
      source_asset_id: Type.String(),
      from_asset_id: Type.String(),
      to_asset_id: Type.String(),
      method: Type.String(),
      confidence: Type.Number(),
      records_moved: Type.Integer(),
    }),
  ),
})

/**
 * `POST /api/v1/assets/remap`: what `coinpipe assets remap` does, over HTTP. It runs under the
 * identity lock, so it waits for a batch being loaded and never interleaves with another remap.
 */
export function assetRemapRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.post(
      '/api/v1/assets/remap',
      {
        onRequest: deps.requireScope('assets:admin'),
        bodyLimit: 1024,
        // Bodies are checked as sent; the app's Ajv coerces types, fit for query strings only.
        validatorCompiler: TypeBoxValidatorCompiler,
        schema: {
          tags: ['assets'],
          summary:
            'Re-resolve every source asset from all the evidence, merge or split assets and move their records (dry_run: only show what would move)',
          security: scopeSecurity('assets:admin'),
          body: RemapBody,
          response: { 200: RemapResult, 400: Problem, 401: Problem, 403: Problem },
        },
      },
      async (request): Promise<Static<typeof RemapResult>> => {
        const requestedBy = deps.actorOf(request) ?? null
        const outcome = await remapAssets(deps.db, identitySettingsOf(deps.pipeline), {
          trigger: 'api',
          now: nowIso(deps.pipeline),
          dryRun: request.body.dry_run === true,
          requestedBy,
        })
        return remapOutcomeJson(outcome)
      },
    )
  }
}
