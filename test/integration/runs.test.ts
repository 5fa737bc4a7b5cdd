import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PACKAGE_ROOT } from '../../src/config.js'
import { insertRun } from '../../src/db/repositories/run-repository.js'
import { RunAlreadyRunningError } from '../../src/errors.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { recoverInterruptedRuns } from '../../src/pipeline/recover-runs.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import { csvText, pipelineContext, writeCsv } from '../helpers/pipeline-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

describe.each(DIALECTS)('runs on %s', (dialect) => {
  let test: TestDatabase
  let ctx: PipelineContext
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
    ctx = pipelineContext(test)
  })
  afterEach(() => test.destroy())

  const orphan = (owner: string, heartbeatAt = new Date().toISOString()) =>
    test.db.kysely
      .insertInto('etlRuns')
      .values({
        source: 'csv',
        trigger: 'cli',
        status: 'running',
        owner,
        startedAt: heartbeatAt,
        heartbeatAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow()

  it('imports the bundled sample file with its deliberate quirks counted', async () => {
    const run = await runSource(ctx, 'csv', {
      trigger: 'cli',
      files: [`${PACKAGE_ROOT}/data/sample-prices.csv`],
    })
    // 4566 data rows: 4556 unique keys, 3 exact and 2 semantic duplicates, 5 rejected rows.
    expect(run).toMatchObject({
      status: 'succeeded',
      extracted: 4566,
      loaded: 4556,
      unchanged: 5,
      rejected: 5,
    })
    const reasons = await test.db.kysely
      .selectFrom('rejections')
      .select('reasonCode')
      .orderBy('reasonCode')
      .execute()
    expect(reasons.map((r) => r.reasonCode)).toEqual([
      'CSV_COLUMN_COUNT',
      'CSV_COLUMN_COUNT',
      'CSV_CONFLICTING_DUPLICATE',
      'CSV_DATE_INVALID',
      'CSV_PRICE_INVALID',
    ])
    const assets = await test.db.kysely.selectFrom('assets').select('id').orderBy('id').execute()
    expect(assets.map((a) => a.id)).toEqual([
      'avalanche',
      'bitcoin',
      'bnb',
      'cardano',
      'dogecoin',
      'ethereum',
      'polkadot',
      'shiba-inu',
      'solana',
      'xrp',
    ])
  })

  it('refuses a second live run of the same source', async () => {
    await orphan(`elsewhere:${process.pid}`)
    await expect(
      insertRun(test.db.kysely, {
        source: 'csv',
        trigger: 'cli',
        owner: 'x:1',
        startedAt: new Date().toISOString(),
        checkpointBefore: null,
      }),
    ).rejects.toBeInstanceOf(RunAlreadyRunningError)
  })

  it('marks a run whose process is gone as failed with RUN_INTERRUPTED, and lets the source run again', async () => {
    const dead = await orphan(`${(await import('node:os')).hostname()}:2147483646`)
    const file = writeCsv(csvText(8))
    const run = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(run).toMatchObject({ status: 'succeeded', loaded: 8 })
    const marked = await test.db.kysely
      .selectFrom('etlRuns')
      .selectAll()
      .where('id', '=', dead.id)
      .executeTakeFirstOrThrow()
    expect(marked).toMatchObject({ status: 'failed', errorCode: 'RUN_INTERRUPTED' })
  })

  it('treats a run with a stale heartbeat as dead, and a fresh one on another host as alive', async () => {
    const stale = await orphan('other-host:1', new Date(Date.now() - 3_600_000).toISOString())
    expect(await recoverInterruptedRuns(ctx)).toBe(1)
    await orphan('other-host:2')
    expect(await recoverInterruptedRuns(ctx)).toBe(0)
    const row = await test.db.kysely
      .selectFrom('etlRuns')
      .select('errorCode')
      .where('id', '=', stale.id)
      .executeTakeFirstOrThrow()
    expect(row.errorCode).toBe('RUN_INTERRUPTED')
  })

  it('stops after the batch in flight when cancelled, ending partial with its checkpoint kept', async () => {
    const abort = new AbortController()
    const file = writeCsv(csvText(50))
    const run = await runSource(pipelineContext(test, { CSV_BATCH_ROWS: '10' }), 'csv', {
      trigger: 'cli',
      files: [file],
      signal: abort.signal,
      onProgress: (p) => p.batches === 2 && abort.abort(),
    })
    // The batch being loaded and the one already read when the signal came both finish.
    expect(run).toMatchObject({ status: 'partial', errorCode: 'RUN_CANCELLED' })
    expect([20, 30]).toContain(run.loaded)
    const resumed = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(resumed).toMatchObject({
      status: 'succeeded',
      extracted: 50 - run.loaded,
      loaded: 50 - run.loaded,
    })
    const pending = await test.db.kysely
      .selectFrom('rawBatches')
      .select('id')
      .where('status', '=', 'pending')
      .execute()
    expect(pending).toEqual([])
  })
})
