import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { replayBatch } from '../../src/pipeline/replay.js'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import type { Source, StreamCursor } from '../../src/sources/source.js'
import { pipelineContext } from '../helpers/pipeline-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

class PayloadBrokenError extends AppError {
  readonly code = 'TEST_PAYLOAD_BROKEN'
}

/** A source of three JSON pages; the transform refuses any page marked broken until it is "fixed". */
function pagedSource(state: { fixed: boolean }): Source {
  const pages: { page: number; broken?: boolean; prices: Record<string, number> }[] = [
    { page: 1, prices: { BTC: 1, ETH: 2 } },
    { page: 2, broken: true, prices: { SOL: 3, ADA: 4 } },
    { page: 3, prices: { XRP: 5 } },
  ]
  return {
    name: 'coingecko',
    conflictCode: 'RECORD_CONFLICT',
    streams: () =>
      Promise.resolve([
        {
          name: 'markets',
          async *extract(cursor: StreamCursor | undefined) {
            const from = typeof cursor?.page === 'number' ? cursor.page : 0
            for (const page of pages.filter((p) => p.page > from)) {
              yield await Promise.resolve({
                payload: JSON.stringify(page),
                meta: {},
                rowCount: Object.keys(page.prices).length,
                cursorAfter: { page: page.page },
              })
            }
          },
        },
      ]),
    transform(_stream, batch) {
      const page = JSON.parse(batch.payload) as (typeof pages)[number]
      if (page.broken && !state.fixed) throw new PayloadBrokenError(`page ${page.page} is broken`)
      return {
        rejections: [],
        observations: Object.entries(page.prices).map(([symbol, priceUsd]) => ({
          asset: { sourceAssetId: symbol.toLowerCase(), symbol, name: symbol },
          observedAt: '2026-01-01T00:00:00.000Z',
          priceUsd,
          marketCapUsd: null,
          volume24hUsd: null,
          change24hPct: null,
          rank: null,
          circulatingSupply: null,
          totalSupply: null,
          maxSupply: null,
          line: null,
          raw: null,
        })),
      }
    },
  }
}

describe.each(DIALECTS)('a batch that cannot be transformed, on %s', (dialect) => {
  let test: TestDatabase
  let ctx: PipelineContext
  const state = { fixed: false }
  beforeEach(async () => {
    test = await createTestDatabase(dialect)
    state.fixed = false
    const source = pagedSource(state)
    ctx = {
      ...pipelineContext(test),
      sources: { available: ['coingecko'], get: () => source, close: () => Promise.resolve() },
    }
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
