import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runSource } from '../../src/pipeline/run-pipeline.js'
import type { PipelineContext } from '../../src/pipeline/pipeline-context.js'
import { pipelineContext, writeCsv } from '../helpers/pipeline-fixture.js'
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/test-database.js'

const COINS = [
  ['BTC', 'Bitcoin'],
  ['ETH', 'Ethereum'],
  ['USDC', 'USD Coin'],
] as const

const HEADER = ['date', 'symbol', 'name', 'price_usd', 'volume_24h_usd', 'market_cap_usd', 'change_24h_pct']

/** A number and the decimals it is written with: never exactly 3, so a decimal comma is never a thousands group. */
const decimalArb = (min: number, max: number) =>
  fc.record({ value: fc.double({ min, max, noNaN: true }), places: fc.constantFrom(2, 4, 6, 8) })

const rowArb = fc.record({
  coin: fc.constantFrom(...COINS),
  price: decimalArb(0.01, 90_000),
  volume: fc.option(decimalArb(0, 5e10), { nil: null }),
  marketCap: fc.option(decimalArb(0, 2e12), { nil: null }),
  change: fc.option(decimalArb(-99, 500), { nil: null }),
})

/** Rows with distinct (coin, day) keys, so each row is one record. */
const rowsArb = fc
  .array(rowArb, { minLength: 1, maxLength: 25 })
  .map((rows) => rows.map((row, day) => ({ ...row, day, second: 0 })))

type Row = ReturnType<typeof rowsArb.generate>['value'][number]

/** How a spreadsheet export might write the file, decided per file and per field. */
const styleArb = fc
  .record({
    delimiter: fc.constantFrom(',', ';', '\t'),
    commaDecimals: fc.boolean(),
    lineBreaks: fc.constantFrom('\n', '\r\n', 'mixed'),
    finalBreak: fc.boolean(),
    bom: fc.boolean(),
    // Per field: quoted, spaces before and after, thousands groups.
    fields: fc.array(
      fc.record({
        quote: fc.boolean(),
        before: fc.constantFrom('', ' ', '  '),
        after: fc.constantFrom('', ' ', '   ', '\t'),
        group: fc.boolean(),
      }),
      { minLength: 64, maxLength: 64 },
    ),
  })
  .map((style) => ({
    ...style,
    // A comma-delimited file writes decimal points (a decimal comma would split the field).
    decimalMark: style.delimiter !== ',' && style.commaDecimals ? ',' : '.',
  }))

type Style = ReturnType<typeof styleArb.generate>['value']

/** `2024-01-01 00:00:07`: each case its own second of the day, so its keys are new to the database. */
const time = (day: number, second: number) =>
  new Date(Date.UTC(2024, 0, 1) + day * 86_400_000 + second * 1000)
    .toISOString()
    .slice(0, 19)
    .replace('T', ' ')

function cleanCsv(rows: readonly Row[]): string {
  const lines = rows.map((r) =>
    [
      time(r.day, r.second),
      r.coin[0],
      r.coin[1],
      r.price.value.toFixed(r.price.places),
      r.volume?.value.toFixed(r.volume.places) ?? '',
      r.marketCap?.value.toFixed(r.marketCap.places) ?? '',
      r.change?.value.toFixed(r.change.places) ?? '',
    ].join(','),
  )
  return [HEADER.join(','), ...lines].join('\n') + '\n'
}

/** `1234567.5` → `1,234,567.5` (or `1.234.567,5` with a decimal comma). */
function formatNumber(text: string, mark: string, group: boolean): string {
  const [whole = '', fraction] = text.split('.')
  const sign = whole.startsWith('-') ? '-' : ''
  const digits = whole.replace('-', '')
  const groupMark = mark === ',' ? '.' : ','
  const grouped = group ? digits.replace(/\B(?=(\d{3})+(?!\d))/g, groupMark) : digits
  return sign + grouped + (fraction === undefined ? '' : mark + fraction)
}

function messyCsv(rows: readonly Row[], style: Style): string {
  let field = 0
  const write = (text: string, numeric = false) => {
    const f = style.fields[field++ % style.fields.length]!
    const value = numeric && text !== '' ? formatNumber(text, style.decimalMark, f.group) : text
    const mustQuote = value.includes(style.delimiter) || value.includes('"')
    // Spaces stay outside the quotes; an unquoted field gets no tab beside a tab delimiter.
    const after = style.delimiter === '\t' && f.after === '\t' ? ' ' : f.after
    return f.quote || mustQuote
      ? `${f.before}"${value.replaceAll('"', '""')}"${after}`
      : `${f.before}${value}${after}`
  }
  const lines = [
    HEADER.map((h) => write(h)).join(style.delimiter),
    ...rows.map((r) =>
      [
        write(time(r.day, r.second)),
        write(r.coin[0]),
        write(r.coin[1]),
        write(r.price.value.toFixed(r.price.places), true),
        write(r.volume?.value.toFixed(r.volume.places) ?? '', true),
        write(r.marketCap?.value.toFixed(r.marketCap.places) ?? '', true),
        write(r.change?.value.toFixed(r.change.places) ?? '', true),
      ].join(style.delimiter),
    ),
  ]
  const text = lines
    .map(
      (line, i) => line + (style.lineBreaks === 'mixed' ? (i % 2 === 0 ? '\r\n' : '\n') : style.lineBreaks),
    )
    .join('')
  return (style.bom ? '\uFEFF' : '') + (style.finalBreak ? text : text.replace(/\r?\n$/, ''))
}

describe.each(DIALECTS)('CSV written in any dialect on %s', (dialect) => {
  let test: TestDatabase
  let ctx: PipelineContext
  beforeAll(async () => {
    test = await createTestDatabase(dialect)
    ctx = pipelineContext(test)
  })
  afterAll(() => test.destroy())

  it('loads the same records as its clean twin', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(rowsArb, styleArb, async (rows, style) => {
        const second = ++run
        const shifted = rows.map((r) => ({ ...r, second }))
        const clean = await runSource(ctx, 'csv', { trigger: 'cli', files: [writeCsv(cleanCsv(shifted))] })
        expect(clean).toMatchObject({ status: 'succeeded', loaded: rows.length, rejected: 0 })
        // The twin holds the very same keys: identical values load as unchanged, any other value
        // would be a conflict, and a misread key a new record.
        const text = messyCsv(shifted, style)
        const messy = await runSource(ctx, 'csv', { trigger: 'cli', files: [writeCsv(text)] })
        const rejections = await ctx.db.kysely
          .selectFrom('rejections')
          .select(['line', 'reasonCode', 'message'])
          .where('runId', '=', messy.id)
          .execute()
        expect(rejections, `rejections of ${JSON.stringify(text)}`).toEqual([])
        expect(messy).toMatchObject({
          status: 'succeeded',
          extracted: rows.length,
          loaded: 0,
          unchanged: rows.length,
          rejected: 0,
        })
      }),
      { numRuns: dialect === 'sqlite' ? 60 : 20, seed: 20261206 },
    )
  })
})
