import type { EtlRunRow } from '../db/schema.js'
import type { RunTrigger } from '../domain/run.js'
import { inSpan, markSpanFailed } from '../telemetry/tracing.js'

/**
 * Runs `work`, one ETL run, in an `etl.run` span: a root span when nothing traced asked for it (the
 * schedule, the CLI), a child of the request or the queued job that did. The run's id, status,
 * counts and error code go on the span when it ends; a failed run marks it failed.
 */
export function inRunSpan<T>(
  attributes: { readonly source?: string; readonly trigger: RunTrigger; readonly batchId?: number },
  work: () => Promise<T>,
  runOf: (result: T) => EtlRunRow | undefined,
): Promise<T> {
  const { source, trigger, batchId } = attributes
  return inSpan(
    'etl.run',
    {
      attributes: {
        ...(source === undefined ? {} : { 'coinpipe.source': source }),
        'coinpipe.trigger': trigger,
        ...(batchId === undefined ? {} : { 'coinpipe.batch_id': batchId }),
      },
    },
    async (span) => {
      const result = await work()
      const run = runOf(result)
      if (span && run) {
        span.setAttributes({
          'coinpipe.source': run.source,
          'coinpipe.run_id': run.id,
          'coinpipe.run.status': run.status,
          'coinpipe.run.batches': run.batches,
          'coinpipe.run.extracted': run.extracted,
          'coinpipe.run.loaded': run.loaded,
          'coinpipe.run.unchanged': run.unchanged,
          'coinpipe.run.rejected': run.rejected,
          ...(run.errorCode === null ? {} : { 'coinpipe.run.error_code': run.errorCode }),
        })
        if (run.status === 'failed')
          markSpanFailed(span, run.errorCode ?? 'RUN_FAILED', run.errorMessage ?? undefined)
      }
      return result
    },
  )
}
