import { appendFileSync, writeFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { findCheckpoint } from '../../src/db/repositories/checkpoint-repository.js'
import { replayBatch } from '../../src/pipeline/replay.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { csvText, pipelineContext, writeCsv } from '../helpers/pipeline-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

const failingTrigger = {
  sqlite: `CREATE TRIGGER fail_on_price BEFORE INSERT ON records WHEN NEW.price_usd = 666
           BEGIN SELECT RAISE(ABORT, 'planted failure'); END;`,
  postgres: `CREATE FUNCTION fail_on_price() RETURNS trigger AS $$
             BEGIN IF NEW.price_usd = 666 THEN RAISE EXCEPTION 'planted failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER fail_on_price BEFORE INSERT ON records FOR EACH ROW EXECUTE FUNCTION fail_on_price();`,
}
const dropTrigger = {
  sqlite: 'DROP TRIGGER fail_on_price',
  postgres: 'DROP TRIGGER fail_on_price ON records',
}

describe.each(DIALECTS)('CSV import on %s', (dialect) => {
  let test: TestDatabase
  let ctx: PipelineContext
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
    ctx = pipelineContext(test, { CSV_BATCH_ROWS: '10' })
  })
  afterEach(() => test.destroy())

  const countRecords = () => test.count('records')

  it('loads every row of a clean file and records the run', async () => {
    const file = writeCsv(csvText(45))
    const run = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(run).toMatchObject({
      status: 'succeeded',
      batches: 5,
      extracted: 45,
      loaded: 45,
      unchanged: 0,
      rejected: 0,
    })
    expect(await countRecords()).toBe(45)
  })

  it('loads nothing when the same file is imported again', async () => {
    const file = writeCsv(csvText(45))
    await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    const again = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(again).toMatchObject({ status: 'succeeded', batches: 0, extracted: 0, loaded: 0 })
    expect(await countRecords()).toBe(45)
  })

  it('loads only the new rows of an appended file', async () => {
    const file = writeCsv(csvText(20))
    await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    appendFileSync(file, csvText(8, { startDay: 5 }).split('\n').slice(1).join('\n'))
    const second = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(second).toMatchObject({ status: 'succeeded', extracted: 8, loaded: 8 })
    expect(await countRecords()).toBe(28)
  })

  it('starts over, without doubling anything, when a file is rewritten', async () => {
    const file = writeCsv(csvText(20))
    await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    writeFileSync(file, csvText(24).replace('2024-01-01,BTC,100.00', '2024-01-01,BTC,101.00'))
    const second = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(second).toMatchObject({ extracted: 24, loaded: 4, unchanged: 19, rejected: 1 })
    expect(await countRecords()).toBe(24)
  })

  it('leaves no partial rows and the checkpoint unmoved when the database fails mid-batch', async () => {
    const file = writeCsv(csvText(30).replace('2024-01-06,SOL,107.00', '2024-01-06,SOL,666'))
    await test.exec(failingTrigger[dialect])
    const run = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(run.status).toBe('failed')
    expect(run.errorMessage).toContain('planted failure')
    // Rows 1–20 are two committed batches; the third batch (rows 21–30) holds the bad row.
    expect(await countRecords()).toBe(20)
    const checkpoint = JSON.parse((await findCheckpoint(test.db.kysely, 'csv', file))!) as { line: number }
    expect(checkpoint.line).toBe(21)
    const failed = await test.db.kysely
      .selectFrom('rawBatches')
      .selectAll()
      .where('status', '=', 'failed')
      .execute()
    expect(failed).toHaveLength(1)
    expect(failed[0]!.rowCount).toBe(10)
  })

  it('loads a failed batch exactly once when it is replayed, and the stream goes on after it', async () => {
    const file = writeCsv(csvText(30).replace('2024-01-06,SOL,107.00', '2024-01-06,SOL,666'))
    await test.exec(failingTrigger[dialect])
    await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    const failedId = (
      await test.db.kysely
        .selectFrom('rawBatches')
        .select('id')
        .where('status', '=', 'failed')
        .executeTakeFirstOrThrow()
    ).id
    await test.exec(dropTrigger[dialect])

    const replay = await replayBatch(ctx, failedId)
    expect(replay.outcome).toBe('loaded')
    expect(replay.run).toMatchObject({ status: 'succeeded', loaded: 10 })
    expect(await replayBatch(ctx, failedId)).toMatchObject({ outcome: 'already_loaded' })
    expect(await countRecords()).toBe(30)

    const next = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(next).toMatchObject({ status: 'succeeded', extracted: 0, loaded: 0 })
    expect(await countRecords()).toBe(30)
  })

  it('rejects bad rows with their line and reason while the rest load', async () => {
    const file = writeCsv(
      [
        'date,symbol,price_usd,market_cap_usd',
        '2024-01-01,BTC,42000,800000000000',
        '2024-01-01,ETH,2300',
        'not-a-date,ETH,2300,1',
        '2024-01-02,,2300,1',
        '2024-01-02,ETH,N/A,1',
        '2024-01-02,BTC,43000,N/A',
        '2024-01-02, btc ,"$43,000.00",',
        '2024-01-02 00:00:00,BTC,43100,',
      ].join('\n'),
    )
    const run = await runSource(ctx, 'csv', { trigger: 'cli', files: [file] })
    expect(run).toMatchObject({ status: 'succeeded', extracted: 8, loaded: 2, unchanged: 1, rejected: 5 })
    const rejections = await test.db.kysely
      .selectFrom('rejections')
      .select(['line', 'reasonCode', 'raw'])
      .orderBy('line')
      .execute()
    expect(rejections.map((r) => [r.line, r.reasonCode])).toEqual([
      [3, 'CSV_COLUMN_COUNT'],
      [4, 'CSV_DATE_INVALID'],
      [5, 'CSV_SYMBOL_MISSING'],
      [6, 'CSV_PRICE_INVALID'],
      [9, 'CSV_CONFLICTING_DUPLICATE'],
    ])
    expect(rejections[4]!.raw).toBe('2024-01-02 00:00:00,BTC,43100,')
    const btc = await test.db.kysely
      .selectFrom('records')
      .selectAll()
      .where('observedAt', '=', '2024-01-02T00:00:00.000Z')
      .executeTakeFirstOrThrow()
    expect(btc).toMatchObject({ priceUsd: 43000, marketCapUsd: null })
  })
})
