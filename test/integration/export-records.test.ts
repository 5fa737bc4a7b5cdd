import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AssetNotFoundError, ValidationError } from '../../src/errors.js'
import { exportRecords, type ExportFormat } from '../../src/export/export-records.js'
import { EXPORT_CHUNK_ROWS } from '../../src/export/record-chunks.js'
import { type ApiFixture, importCsv, postRecord, startApi } from '../helpers/api-fixture.js'
import { AWKWARD_RECORDS, recordsFromCsvFile, recordsFromParquetFile } from '../helpers/export-files.js'
import { csvText } from '../helpers/pipeline-fixture.js'
import { DIALECTS } from '../helpers/test-database.js'

const FORMATS: ExportFormat[] = ['csv', 'parquet']

const readBack = (format: ExportFormat, path: string) =>
  format === 'csv' ? Promise.resolve(recordsFromCsvFile(path)) : recordsFromParquetFile(path)

describe.each(DIALECTS)('exporting records on %s', (dialect) => {
  let api: ApiFixture
  let dir: string
  beforeEach(async () => {
    api = await startApi(dialect)
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-export-'))
  })
  afterEach(async () => {
    await api.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** The JSON answer's items for `query`, the truth an export is compared with. */
  const jsonItems = async (query: string) => {
    const response = await api.app.inject({ method: 'GET', url: `/api/v1/records?${query}` })
    expect(response.statusCode, response.body).toBe(200)
    return response.json<{ data: Record<string, unknown>[] }>().data
  }

  describe.each(FORMATS)('as %s', (format) => {
    beforeEach(async () => {
      await importCsv(api.ctx, csvText(40) + '2024-01-03,NUL,1.5,N/A\n')
      for (const body of AWKWARD_RECORDS) expect((await postRecord(api.app, body)).statusCode).toBe(201)
    })

    it('writes the records of the assets and range, read back equal to the JSON answer', async () => {
      const out = join(dir, `records.${format}`)
      const outcome = await exportRecords(api.test.db.kysely, {
        format,
        assetIds: ['eth', 'btc'],
        from: '2024-01-03T00:00:00.000Z',
        to: '2024-01-08T00:00:00.000Z',
        out,
      })

      const range = 'from=2024-01-03&to=2024-01-08&order=asc&limit=1000'
      const expected = [
        ...(await jsonItems(`asset=eth&${range}`)),
        ...(await jsonItems(`asset=btc&${range}`)),
      ]
      expect(expected).toHaveLength(10)
      const written = await readBack(format, out)
      expect(written.items).toEqual(expected)
      expect(written.header).toEqual(Object.keys(expected[0]!))
      expect(outcome).toEqual({ rows: 10, file: out, bytes: expect.any(Number) as number })
      expect(readdirSync(dir)).toEqual([`records.${format}`])
    })

    it('writes every record without assets or range, nulls and awkward decimals exact', async () => {
      const out = join(dir, `all.${format}`)
      const outcome = await exportRecords(api.test.db.kysely, { format, assetIds: [], out })

      const written = await readBack(format, out)
      expect(written.items).toEqual(await jsonItems('order=asc&limit=1000'))
      expect(outcome.rows).toBe(43)
      const awkward = written.items.find((r) => r.symbol === 'DEC')
      expect(awkward).toMatchObject({ price_usd: 0.1 + 0.2, total_supply: 5e-324, volume_24h_usd: 0 })
      expect(written.items.find((r) => r.symbol === 'NUL')).toMatchObject({
        price_usd: 1.5,
        market_cap_usd: null,
        rank: null,
      })
    })

    it('writes a file with no rows when nothing matches', async () => {
      const out = join(dir, `none.${format}`)
      const outcome = await exportRecords(api.test.db.kysely, {
        format,
        assetIds: ['btc'],
        source: 'coingecko',
        out,
      })
      expect(outcome.rows).toBe(0)
      const written = await readBack(format, out)
      expect(written.items).toEqual([])
      expect(written.header).toContain('observed_at')
    })

    it('refuses an unknown asset and an empty range, and writes nothing', async () => {
      const out = join(dir, `refused.${format}`)
      await expect(
        exportRecords(api.test.db.kysely, { format, assetIds: ['btc', 'no-such-coin'], out }),
      ).rejects.toThrow(AssetNotFoundError)
      await expect(
        exportRecords(api.test.db.kysely, {
          format,
          assetIds: [],
          from: '2024-01-05T00:00:00.000Z',
          to: '2024-01-05T00:00:00.000Z',
          out,
        }),
      ).rejects.toThrow(ValidationError)
      expect(readdirSync(dir)).toEqual([])
    })

    it('leaves no file, whole or partial, when the database fails mid-export', async () => {
      await importCsv(api.ctx, csvText(EXPORT_CHUNK_ROWS + 10, { startDay: 100 }))
      let pages = 0
      const stop = api.test.db.observeQueries((event) => {
        if (/from records r join assets/i.test(event.query.sql) && ++pages === 1)
          void api.test.db.kysely.destroy()
      })
      const out = join(dir, `cut.${format}`)
      await expect(exportRecords(api.test.db.kysely, { format, assetIds: [], out })).rejects.toThrow(
        /destroyed/,
      )
      stop()
      expect(pages).toBe(1)
      expect(readdirSync(dir)).toEqual([])
    })

    it('replaces an existing file only once the new one is complete', async () => {
      const out = join(dir, `again.${format}`)
      await exportRecords(api.test.db.kysely, { format, assetIds: ['btc'], out })
      await exportRecords(api.test.db.kysely, { format, assetIds: ['eth'], out })
      expect(new Set((await readBack(format, out)).items.map((r) => r.asset_id))).toEqual(new Set(['eth']))
      expect(existsSync(`${out}.partial`)).toBe(false)
    })
  })

  it('writes Parquet with typed columns: TIMESTAMP times, DOUBLE values, INT64 ids', async () => {
    await importCsv(api.ctx, csvText(4))
    const out = join(dir, 'typed.parquet')
    await exportRecords(api.test.db.kysely, { format: 'parquet', assetIds: [], out })
    const { types, rowGroups } = await recordsFromParquetFile(out)
    expect(types).toMatchObject({
      id: 'INT64',
      asset_id: 'UTF8',
      observed_at: 'TIMESTAMP',
      loaded_at: 'TIMESTAMP',
      price_usd: 'DOUBLE',
      rank: 'INT32',
      run_id: 'INT64',
    })
    expect(rowGroups).toEqual([4])
  })

  it('removes its partial file when the finished file cannot take its place', async () => {
    await importCsv(api.ctx, csvText(4))
    const out = join(dir, 'taken')
    mkdirSync(join(out, 'inside'), { recursive: true })
    await expect(exportRecords(api.test.db.kysely, { format: 'csv', assetIds: [], out })).rejects.toThrow()
    expect(readdirSync(dir)).toEqual(['taken'])
  })
})
