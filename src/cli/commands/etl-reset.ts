import { resolve } from 'node:path'
import { deleteCheckpoints } from '../../db/repositories/checkpoint-repository.js'
import { openCliContext } from '../cli-context.js'
import { EXIT } from '../exit-codes.js'

/** `coinpipe etl reset`: forget checkpoints so the next run of the source starts over. */
export async function etlResetCommand(options: { source: string; stream?: string }): Promise<number> {
  const { pipeline, close } = await openCliContext()
  try {
    pipeline.sources.check(options.source)
    // A CSV stream is named by its absolute path; accept the path as typed too.
    let removed = await deleteCheckpoints(pipeline.db.kysely, options.source, options.stream)
    if (removed === 0 && options.stream !== undefined)
      removed = await deleteCheckpoints(pipeline.db.kysely, options.source, resolve(options.stream))
    const what =
      options.stream === undefined
        ? `every stream of ${options.source}`
        : `${options.source} stream ${options.stream}`
    console.log(
      removed === 0
        ? `no checkpoint found for ${what}`
        : `forgot ${removed} checkpoint(s) of ${what}; the next run starts over`,
    )
    return EXIT.OK
  } finally {
    await close()
  }
}
