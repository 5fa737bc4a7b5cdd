import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { countAssets } from '../../db/repositories/asset-repository.js'
import { countRecords, findNewestObservationOf } from '../../db/repositories/record-repository.js'
import {
  countRunsBySourceAndStatus,
  listLatestRunPerSource,
  sumLoadedSince,
  sumRunCountsBySource,
} from '../../db/repositories/run-repository.js'
import { nowIso } from '../../pipeline/pipeline-context.js'
import { FINISHED_RUN_STATUSES } from '../../domain/run.js'
import type { ApiDeps } from '../build-app.js'
import { Nullable, Problem } from '../schemas.js'

const SourceStats = Type.Object({
  source: Type.String(),
  enabled: Type.Boolean(),
  runs: Type.Object({
    succeeded: Type.Integer(),
    partial: Type.Integer(),
    failed: Type.Integer(),
    running: Type.Integer(),
    skipped: Type.Integer({ description: 'scheduled ticks dropped while the source ran elsewhere' }),
  }),
  loaded: Type.Integer({ description: 'records newly stored, summed over runs' }),
  unchanged: Type.Integer({ description: 'records already stored with the same values, summed over runs' }),
  rejected: Type.Integer({ description: 'rows refused, summed over runs' }),
  last_success_at: Nullable(
    Type.String({ format: 'date-time', description: 'end of the latest succeeded run' }),
  ),
  last_failure_at: Nullable(
    Type.String({ format: 'date-time', description: 'end of the latest failed run' }),
  ),
  last_failure_error_code: Nullable(Type.String()),
  last_duration_ms: Nullable(Type.Integer({ description: 'of the latest finished run' })),
  loaded_24h: Type.Integer({
    description: 'records newly stored by the runs that started in the last 24 hours',
  }),
  newest_observed_at: Nullable(
    Type.String({
      format: 'date-time',
      description: "the source's clock on its newest stored record: how fresh its data is",
    }),
  ),
  mean_duration_ms: Nullable(Type.Integer({ description: 'over finished runs, rounded' })),
})

const Stats = Type.Object({
  stale_after_ms: Type.Integer({
    description:
      'ASSET_STALE_AFTER_MS: a source whose data trails by more is stale (left out of consensus prices)',
  }),
  sources: Type.Array(SourceStats),
  totals: Type.Object({
    runs: Type.Integer(),
    records: Type.Integer({ description: 'records stored now, from every source' }),
    rejected: Type.Integer({ description: 'rows refused, summed over every run' }),
    assets: Type.Integer(),
  }),
})

/** What the pipeline has done, per source and overall. */
export function statsRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/v1/stats',
      {
        schema: {
          tags: ['operations'],
          summary: 'Runs by status, record counts, last success and failure, durations per source; totals',
          querystring: Type.Object({}, { additionalProperties: false }),
          response: { 200: Stats, 400: Problem },
        },
      },
      async (): Promise<Static<typeof Stats>> => {
        const db = deps.db.kysely
        const dayAgo = new Date(Date.parse(nowIso(deps.pipeline)) - 86_400_000).toISOString()
        const [byStatus, sums, lastSuccess, lastFailure, lastFinished, records, assets, recent] =
          await Promise.all([
            countRunsBySourceAndStatus(db),
            sumRunCountsBySource(db),
            listLatestRunPerSource(db, ['succeeded']),
            listLatestRunPerSource(db, ['failed']),
            listLatestRunPerSource(db, FINISHED_RUN_STATUSES),
            countRecords(db, {}),
            countAssets(db),
            sumLoadedSince(db, dayAgo),
          ])
        const names = [...new Set([...deps.enabledSources, ...sums.map((s) => s.source)])].sort()
        const newest = await Promise.all(names.map((source) => findNewestObservationOf(db, source)))
        const sources = names.map((source, i) => {
          const runs = { succeeded: 0, partial: 0, failed: 0, running: 0, skipped: 0 }
          for (const row of byStatus) if (row.source === source) runs[row.status] += row.runs
          const sum = sums.find((s) => s.source === source)
          const failure = lastFailure.find((r) => r.source === source)
          const mean = sum?.meanDurationMs ?? null
          return {
            source,
            enabled: deps.enabledSources.includes(source),
            runs,
            loaded: sum?.loaded ?? 0,
            unchanged: sum?.unchanged ?? 0,
            rejected: sum?.rejected ?? 0,
            last_success_at: lastSuccess.find((r) => r.source === source)?.finishedAt ?? null,
            last_failure_at: failure?.finishedAt ?? null,
            last_failure_error_code: failure?.errorCode ?? null,
            last_duration_ms: lastFinished.find((r) => r.source === source)?.durationMs ?? null,
            mean_duration_ms: mean === null ? null : Math.round(mean),
            loaded_24h: recent.find((r) => r.source === source)?.loaded ?? 0,
            newest_observed_at: newest[i] ?? null,
          }
        })
        return {
          stale_after_ms: deps.assetStaleAfterMs,
          sources,
          totals: {
            runs: byStatus.reduce((n, row) => n + row.runs, 0),
            records,
            rejected: sums.reduce((n, s) => n + s.rejected, 0),
            assets,
          },
        }
      },
    )
  }
}
