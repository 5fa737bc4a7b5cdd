import { createWriteStream } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

export interface LargeCsv {
  readonly path: string
  /** Data lines, duplicates included. */
  readonly rows: number
  /** Distinct (symbol, date) keys: what the records table holds once the file is in. */
  readonly uniqueKeys: number
}

/**
 * Streams a deterministic CSV of `rows` data lines (day × symbol prices) to `path`. Every
 * `duplicateEvery`-th line is followed by an exact copy of itself, so there are fewer keys than rows.
 * Dates start in 2000 and, with 50 symbols, stay well inside what the CSV source accepts.
 */
export async function writeLargeCsv(
  path: string,
  opts: { rows: number; duplicateEvery?: number; symbols?: number },
): Promise<LargeCsv> {
  const symbols = Array.from({ length: opts.symbols ?? 50 }, (_, i) => `C${i}`)
  const duplicateEvery = opts.duplicateEvery ?? 100
  let uniqueKeys = 0
  function* chunks(): Generator<string> {
    yield 'date,symbol,price_usd,market_cap_usd\n'
    let written = 0
    let lines: string[] = []
    for (let i = 0; written < opts.rows; i++) {
      const day = Math.floor(i / symbols.length)
      const date = new Date(Date.UTC(2000, 0, 1) + day * 86_400_000).toISOString().slice(0, 10)
      const line = `${date},${symbols[i % symbols.length]},${(100 + (i % 997) / 4).toFixed(2)},${1000 * (day + 1)}`
      lines.push(line)
      written++
      uniqueKeys++
      if (i % duplicateEvery === duplicateEvery - 1 && written < opts.rows) {
        lines.push(line)
        written++
      }
      if (lines.length >= 1000) {
        yield lines.join('\n') + '\n'
        lines = []
      }
    }
    if (lines.length > 0) yield lines.join('\n') + '\n'
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path))
  return { path, rows: opts.rows, uniqueKeys }
}
