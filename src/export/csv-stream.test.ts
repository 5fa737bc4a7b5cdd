import { once } from 'node:events'
import { text } from 'node:stream/consumers'
import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import { csvStream, sameNamedColumns } from './csv-stream.js'

interface Row {
  name: string | null
  value: number | null
}

const COLUMNS = sameNamedColumns<Row>(['name', 'value'])

const chunksOf = (...chunks: Row[][]) => chunks

describe('csvStream', () => {
  it('writes a header, then every row of every chunk, quoting what needs it', async () => {
    const out = await text(
      csvStream(
        COLUMNS,
        chunksOf([{ name: 'a,b', value: 1 }], [], [{ name: 'say "hi"\nthere', value: -0.5 }]),
      ),
    )
    expect(out).toBe('name,value\n"a,b",1\n"say ""hi""\nthere",-0.5\n')
  })

  it('prints numbers as JSON does, and null (or a number JSON cannot hold) as an empty field', async () => {
    const values = [0.1 + 0.2, 1e21, 5e-324, -0, 123456789.12345679, null, NaN, Infinity]
    const out = await text(csvStream(COLUMNS, chunksOf(values.map((value) => ({ name: null, value })))))
    const parsed = parse(out)
      .slice(1)
      .map(([, value]) => (value === '' ? null : Number(value)))
    expect(parsed).toEqual(values.map((v) => JSON.parse(JSON.stringify(v)) as number | null))
    expect(out.split('\n')[1]).toBe(',0.30000000000000004')
  })

  it('prints an array or object field as its JSON text', async () => {
    const columns = [{ header: 'sources', key: 'sources' as const }]
    const out = await text(csvStream(columns, [[{ sources: ['coingecko', 'csv'] }]]))
    expect(parse(out)).toEqual([['sources'], ['["coingecko","csv"]']])
  })

  it('writes the header alone when there are no rows', async () => {
    expect(await text(csvStream(COLUMNS, chunksOf()))).toBe('name,value\n')
  })

  it('takes the header from the columns, whatever the row properties are named', async () => {
    const out = await text(
      csvStream([{ header: 'market_cap_usd', key: 'value' }], chunksOf([{ name: 'x', value: 3 }])),
    )
    expect(out).toBe('market_cap_usd\n3\n')
  })

  it('reads no chunk before it is asked for, and stops reading when destroyed', async () => {
    let pulled = 0
    let finished = false
    function* endless(): Generator<Row[]> {
      try {
        for (;;) {
          pulled++
          yield [{ name: 'row', value: pulled }]
        }
      } finally {
        finished = true
      }
    }
    const stream = csvStream(COLUMNS, endless())
    await new Promise((resolve) => setImmediate(resolve))
    expect(pulled).toBe(0)

    stream.read()
    await once(stream, 'readable')
    stream.destroy()
    await once(stream, 'close')
    const pulledWhenDestroyed = pulled
    await new Promise((resolve) => setImmediate(resolve))

    expect(finished).toBe(true)
    expect(pulled).toBe(pulledWhenDestroyed)
    expect(pulled).toBeLessThanOrEqual(3)
  })

  it('fails with the error of a chunk that cannot be read, after the rows already sent', async () => {
    function* failing(): Generator<Row[]> {
      yield [{ name: 'first', value: 1 }]
      throw new Error('connection lost')
    }
    const stream = csvStream(COLUMNS, failing())
    const received: string[] = []
    stream.setEncoding('utf8').on('data', (piece: string) => received.push(piece))
    const [error] = (await once(stream, 'error').catch((e: unknown) => [e])) as [Error]
    expect(error.message).toBe('connection lost')
    expect(received.join('')).toBe('name,value\nfirst,1\n')
  })
})
