import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { replayBatch } from '../../src/pipeline/replay.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import { pagedRegistry } from '../helpers/paged-source.js'
import { pipelineContext } from '../helpers/pipeline-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

describe.each(DIALECTS)('a batch that cannot be transformed, on %s', (dialect) => {
  let test: TestDatabase
  let ctx: PipelineContext
  const state = { fixed: false }
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
    state.fixed = false
    ctx = { ...pipelineContext(test), sources: pagedRegistry(state) }
  })
  afterEach(() => test.destroy())

  it('is kept raw as failed while the other batches load, and the run ends partial', async () => {
    const run = await runSource(ctx, 'coingecko', { trigger: 'cli' })
    expect(run).toMatchObject({
      status: 'partial',
      errorCode: 'BATCH_FAILED',
      batches: 3,
      extracted: 5,
      loaded: 3,
    })
    const batches = await test.db.kysely
      .selectFrom('rawBatches')
      .select(['status', 'errorCode', 'payload'])
      .orderBy('id')
      .execute()
    expect(batches.map((b) => [b.status, b.errorCode])).toEqual([
      ['loaded', null],
      ['failed', 'TEST_PAYLOAD_BROKEN'],
      ['loaded', null],
    ])
    expect(JSON.parse(batches[1]!.payload)).toMatchObject({ page: 2, broken: true })
  })

  it('loads exactly once when replayed after the transform is fixed, without fetching again', async () => {
    await runSource(ctx, 'coingecko', { trigger: 'cli' })
    const failed = await test.db.kysely
      .selectFrom('rawBatches')
      .select('id')
      .where('status', '=', 'failed')
      .executeTakeFirstOrThrow()
    expect((await replayBatch(ctx, failed.id)).outcome).toBe('failed')
    state.fixed = true
    expect(await replayBatch(ctx, failed.id)).toMatchObject({ outcome: 'loaded', run: { loaded: 2 } })
    expect(await replayBatch(ctx, failed.id)).toMatchObject({ outcome: 'already_loaded' })
    const next = await runSource(ctx, 'coingecko', { trigger: 'cli' })
    expect(next).toMatchObject({ status: 'succeeded', batches: 0 })
    expect(await test.count('records')).toBe(5)
  })
})
