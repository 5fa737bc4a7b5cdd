import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { listBatchesOfRun } from '../../db/repositories/raw-batch-repository.js'
import { countRejectionsByReason } from '../../db/repositories/rejection-repository.js'
import { findRun, listRuns } from '../../db/repositories/run-repository.js'
import { listSchemaChanges } from '../../db/repositories/schema-change-repository.js'
import type { EtlRunRow } from '../../db/schema.js'
import { RUN_STATUSES, RUN_TRIGGERS, type QueuedRun } from '../../domain/run.js'
import {
  compareRuns,
  finishedRunFigures,
  recordsOf,
  rejectionRatePct,
  type AnomalyCode,
} from '../../domain/run-comparison.js'
import { NotFoundError, SourceUnavailableError, ValidationError } from '../../errors.js'
import type { StartedRun } from '../../pipeline/run-starter.js'
import type { ApiDeps } from '../build-app.js'
import { sendProblem } from '../error-handler.js'
import { parseJsonObject } from '../json-object.js'
import { responseMeta } from '../meta.js'
import { idCursorBefore, pageNewestFirst } from '../page-cursor.js'
import {
  CursorParam,
  EtlSourceParam,
  IdParam,
  JsonObject,
  LimitParam,
  Meta,
  Nullable,
  Page,
  Problem,
  RunItem,
  scopeSecurity,
  StringEnum,
  TimeParam,
} from '../schemas.js'
import { parseTimeParam } from '../time-param.js'
import { SchemaChangeItem, toSchemaChangeItem } from './schema-change-routes.js'

/** Schema changes listed with a run; each kind of drift is recorded once, so a run has few. */
const RUN_SCHEMA_CHANGES_LIMIT = 1000

const BatchSummary = Type.Object({
  id: Type.Integer(),
  stream: Type.String(),
  status: StringEnum(['pending', 'loaded', 'failed'] as const),
  row_count: Type.Integer(),
  error_code: Nullable(Type.String()),
  error_message: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  loaded_at: Nullable(Type.String({ format: 'date-time' })),
})

const RunDetail = Type.Object({
  ...RunItem.properties,
  heartbeat_at: Type.String({ format: 'date-time', description: 'last sign of life of a running run' }),
  checkpoint_before: Nullable(JsonObject),
  checkpoint_after: Nullable(JsonObject),
  batches: Type.Array(BatchSummary),
  rejections_by_reason: Type.Array(Type.Object({ reason_code: Type.String(), count: Type.Integer() })),
  schema_changes: Type.Array(SchemaChangeItem),
})

const ComparedRun = Type.Object({
  ...RunItem.properties,
  records: Type.Integer({ description: 'loaded + unchanged' }),
  rejection_rate_pct: Type.Number({
    description: 'rejected / extracted × 100 (0 when nothing was extracted)',
  }),
})

const ANOMALY_CODES = [
  'RECORD_COUNT_SWING',
  'DURATION_SWING',
  'STATUS_REGRESSION',
  'ZERO_RECORDS',
  'REJECTION_RATE_JUMP',
] as const satisfies readonly AnomalyCode[]

const Comparison = Type.Object({
  source: Type.String(),
  base: ComparedRun,
  head: ComparedRun,
  delta: Type.Object({
    records: Type.Integer(),
    records_pct: Nullable(Type.Number({ description: 'null when base had no records and head has some' })),
    duration_ms: Nullable(Type.Integer()),
    duration_pct: Nullable(Type.Number({ description: 'null when base took 0 ms or a duration is unknown' })),
    rejected: Type.Integer(),
    rejection_rate_pts: Type.Number(),
    extracted: Type.Integer(),
  }),
  anomalies: Type.Array(Type.Object({ code: StringEnum(ANOMALY_CODES), message: Type.String() })),
  thresholds: Type.Object({
    record_swing_pct: Type.Number(),
    duration_swing_pct: Type.Number(),
    rejection_jump_pts: Type.Number(),
  }),
})

const RunQuery = Type.Object(
  {
    source: Type.Optional(EtlSourceParam),
    status: Type.Optional(StringEnum([...RUN_STATUSES, 'queued'] as const)),
    trigger: Type.Optional(StringEnum(RUN_TRIGGERS)),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    limit: Type.Optional(LimitParam),
    cursor: Type.Optional(CursorParam),
  },
  { additionalProperties: false },
)

const RunId = IdParam

/** Run history, one run in depth, starting a run, and comparing two runs of a source. */
export function runRoutes(deps: ApiDeps): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/api/v1/runs',
      {
        schema: {
          tags: ['runs'],
          summary:
            'List runs, newest first; from/to bound started_at (from inclusive, to exclusive). In queue mode the first page starts with the jobs no worker has taken yet (status queued)',
          querystring: RunQuery,
          response: { 200: Type.Object({ data: Type.Array(RunItem), page: Page, meta: Meta }), 400: Problem },
        },
      },
      async (request, reply) => {
        const { source, status, trigger, from, to, cursor } = request.query
        const limit = request.query.limit ?? 100
        // Queue mode: jobs no worker has taken yet head the first page (they have no start time).
        const queued =
          deps.queue && cursor === undefined && from === undefined && to === undefined
            ? (await deps.queue.queued().catch(() => []))
                .filter(
                  (job) =>
                    (source === undefined || job.source === source) &&
                    (trigger === undefined || job.trigger === trigger),
                )
                .filter(() => status === undefined || status === 'queued')
                .reverse()
                .slice(0, limit)
                .map(toQueuedItem)
            : []
        if (status === 'queued')
          return { data: queued, page: { limit, next_cursor: null }, meta: responseMeta(reply) }
        const rows = await listRuns(deps.db.kysely, {
          source,
          status,
          trigger,
          from: from === undefined ? undefined : parseTimeParam('from', from),
          to: to === undefined ? undefined : parseTimeParam('to', to),
          beforeId: idCursorBefore(cursor),
          limit: limit + 1,
        })
        const { rows: page, page: pageInfo } = pageNewestFirst(rows, limit)
        return {
          data: [...queued, ...page.map(toRunItem)],
          page: pageInfo,
          meta: responseMeta(reply),
        }
      },
    )

    app.get(
      '/api/v1/runs/compare',
      {
        schema: {
          tags: ['runs'],
          summary:
            'Compare two finished runs of one source, with anomaly flags (409 while either still runs)',
          querystring: Type.Object({ base: RunId, head: RunId }, { additionalProperties: false }),
          response: { 200: Comparison, 400: Problem, 404: Problem, 409: Problem },
        },
      },
      async (request) => {
        const [base, head] = await Promise.all([
          findRun(deps.db.kysely, request.query.base),
          findRun(deps.db.kysely, request.query.head),
        ])
        if (!base) throw new NotFoundError('run', request.query.base)
        if (!head) throw new NotFoundError('run', request.query.head)
        for (const [field, run] of [['base', base] as const, ['head', head] as const]) {
          if (run.status === 'skipped')
            throw new ValidationError(field, `run ${run.id} was skipped (it never ran); nothing to compare`)
        }
        if (base.source !== head.source) {
          throw new ValidationError(
            'head',
            `run ${head.id} is a ${head.source} run and run ${base.id} a ${base.source} run; compare runs of one source`,
          )
        }
        const { delta, anomalies } = compareRuns(
          finishedRunFigures(base),
          finishedRunFigures(head),
          deps.compareThresholds,
        )
        return {
          source: base.source,
          base: toComparedRun(base),
          head: toComparedRun(head),
          delta: {
            records: delta.records,
            records_pct: delta.recordsPct,
            duration_ms: delta.durationMs,
            duration_pct: delta.durationPct,
            rejected: delta.rejected,
            rejection_rate_pts: delta.rejectionRatePts,
            extracted: delta.extracted,
          },
          anomalies: [...anomalies],
          thresholds: {
            record_swing_pct: deps.compareThresholds.recordSwingPct,
            duration_swing_pct: deps.compareThresholds.durationSwingPct,
            rejection_jump_pts: deps.compareThresholds.rejectionJumpPts,
          },
        }
      },
    )

    app.get(
      '/api/v1/runs/:id',
      {
        schema: {
          tags: ['runs'],
          summary: 'One run with its batches (no payloads), rejections by reason and schema changes',
          params: Type.Object({ id: RunId }, { additionalProperties: false }),
          response: { 200: RunDetail, 400: Problem, 404: Problem },
        },
      },
      async (request): Promise<Static<typeof RunDetail>> => {
        const id = request.params.id
        const run = await findRun(deps.db.kysely, id)
        if (!run) throw new NotFoundError('run', id)
        const [batches, reasons, changes] = await Promise.all([
          listBatchesOfRun(deps.db.kysely, id),
          countRejectionsByReason(deps.db.kysely, id),
          listSchemaChanges(deps.db.kysely, { runId: id, limit: RUN_SCHEMA_CHANGES_LIMIT }),
        ])
        return {
          ...toRunItem(run),
          heartbeat_at: run.heartbeatAt,
          checkpoint_before: parseJsonObject(run.checkpointBefore),
          checkpoint_after: parseJsonObject(run.checkpointAfter),
          batches: batches.map((b) => ({
            id: b.id,
            stream: b.stream,
            status: b.status,
            row_count: b.rowCount,
            error_code: b.errorCode,
            error_message: b.errorMessage,
            created_at: b.createdAt,
            loaded_at: b.loadedAt,
          })),
          rejections_by_reason: reasons.map((r) => ({ reason_code: r.reasonCode, count: r.count })),
          schema_changes: changes.map(toSchemaChangeItem),
        }
      },
    )

    app.post(
      '/api/v1/runs',
      {
        onRequest: deps.requireScope('runs:write'),
        bodyLimit: 1024,
        // Bodies are checked as sent; the app's Ajv coerces types, fit for query strings only.
        validatorCompiler: TypeBoxValidatorCompiler,
        schema: {
          tags: ['runs'],
          summary: 'Start a run of a source now (202); 409 while one of that source is running',
          security: scopeSecurity('runs:write'),
          body: Type.Object({ source: EtlSourceParam }, { additionalProperties: false }),
          response: { 202: RunItem, 400: Problem, 401: Problem, 403: Problem, 409: Problem, 503: Problem },
        },
      },
      async (request, reply) => {
        let started: StartedRun
        try {
          started = await deps.runs.startRun(request.body.source, 'api', deps.actorOf(request) ?? null)
        } catch (error) {
          // Known to config but not built into this registry: a bad value of the `source` field.
          if (error instanceof SourceUnavailableError)
            return sendProblem(reply, 400, error.code, error.message, [
              { field: 'source', in: 'body', message: error.message },
            ])
          throw error
        }
        if ('queued' in started) {
          reply.status(202)
          return toQueuedItem(started.queued)
        }
        reply.status(202).header('location', `/api/v1/runs/${started.run.id}`)
        return toRunItem(started.run)
      },
    )
  }
}

/** A job no worker has taken yet (queue mode), as the run history lists it. */
export function toQueuedItem(job: QueuedRun): Static<typeof RunItem> {
  return {
    id: null,
    job_id: job.jobId,
    source: job.source,
    trigger: job.trigger,
    status: 'queued',
    queued_at: job.queuedAt,
    waiting_for: job.waitingFor ?? null,
    started_at: null,
    finished_at: null,
    duration_ms: null,
    batch_count: 0,
    extracted: 0,
    loaded: 0,
    unchanged: 0,
    rejected: 0,
    error_code: null,
    error_message: null,
    started_by: job.startedBy,
  }
}

export function toRunItem(run: EtlRunRow): Static<typeof RunItem> {
  return {
    id: run.id,
    source: run.source,
    trigger: run.trigger,
    status: run.status,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    duration_ms: run.durationMs,
    batch_count: run.batches,
    extracted: run.extracted,
    loaded: run.loaded,
    unchanged: run.unchanged,
    rejected: run.rejected,
    error_code: run.errorCode,
    error_message: run.errorMessage,
    started_by: run.startedBy,
  }
}

function toComparedRun(run: EtlRunRow): Static<typeof ComparedRun> {
  return {
    ...toRunItem(run),
    records: recordsOf(run),
    rejection_rate_pct: Math.round(rejectionRatePct(run) * 100) / 100,
  }
}
