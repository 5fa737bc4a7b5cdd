import { listFailedBatchIds } from '../../db/repositories/raw-batch-repository.js'
import { recoverInterruptedRuns } from '../../pipeline/recover-runs.js'
import { replayBatch, type ReplayResult } from '../../pipeline/replay.js'
import { openCliContext } from '../cli-context.js'
import { CliError } from '../cli-error.js'
import { EXIT } from '../exit-codes.js'

/** `coinpipe etl replay`: re-transform stored raw batches, without the network. */
export async function etlReplayCommand(options: {
  batch: number[]
  failed: boolean
  json: boolean
}): Promise<number> {
  if (options.batch.length === 0 && !options.failed)
    throw new CliError('say which batches: --batch <id> (repeatable) or --failed', EXIT.CONFIG)
  const { pipeline, close } = await openCliContext({ logLevel: options.json ? 'warn' : undefined })
  try {
    await recoverInterruptedRuns(pipeline)
    const ids = [
      ...new Set([...options.batch, ...(options.failed ? await listFailedBatchIds(pipeline.db.kysely) : [])]),
    ]
    const results: ReplayResult[] = []
    // An unknown id throws NotFoundError ("raw batch N does not exist"), which exits with EXIT.INPUT.
    for (const id of ids) results.push(await replayBatch(pipeline, id, { startedBy: 'cli' }))
    if (options.json) {
      console.log(
        JSON.stringify(
          {
            batches: results.map((r) => ({
              batch_id: r.batchId,
              outcome: r.outcome,
              run_id: r.run?.id ?? null,
              loaded: r.run?.loaded ?? 0,
              error_code: r.errorCode ?? null,
            })),
          },
          null,
          2,
        ),
      )
    } else {
      if (results.length === 0) console.log('no batches to replay')
      for (const r of results) {
        const detail =
          r.outcome === 'failed'
            ? `${r.errorCode}: ${r.errorMessage}`
            : r.run
              ? `${r.run.loaded} loaded, ${r.run.unchanged} unchanged, ${r.run.rejected} rejected`
              : ''
        console.log(`batch ${r.batchId}: ${r.outcome.replace('_', ' ')}${detail ? ` · ${detail}` : ''}`)
      }
    }
    return results.some((r) => r.outcome === 'failed') ? EXIT.RUN_FAILED : EXIT.OK
  } finally {
    await close()
  }
}
