import Database from 'better-sqlite3'
import pg from 'pg'
import { request } from 'undici'

/**
 * The bare baseline of one upstream cycle: fetch the same pages, `JSON.parse`, keep five fields,
 * and insert them keyed on (id, last_updated) in one transaction with no validation, no raw copy,
 * no identity, no run bookkeeping: what a quick script would do.
 */
export interface BareCycle {
  readonly seconds: number
  readonly cpuSeconds: number
  readonly rows: number
}

type Row = [id: string, observedAt: string, price: number, marketCap: number | null, volume: number | null]

async function fetchRows(
  urls: { coingeckoUrl: string; coinpaprikaUrl: string },
  pages: number,
  perPage: number,
) {
  const rows: Row[] = []
  for (let page = 1; page <= pages; page++) {
    const res = await request(
      `${urls.coingeckoUrl}/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=${perPage}&page=${page}`,
    )
    const items = (await res.body.json()) as Record<string, unknown>[]
    for (const i of items)
      rows.push([
        `cg:${String(i.id)}`,
        String(i.last_updated),
        Number(i.current_price),
        i.market_cap as number,
        i.total_volume as number,
      ])
    if (items.length < perPage) break
  }
  const res = await request(`${urls.coinpaprikaUrl}/tickers?quotes=USD`)
  const tickers = (await res.body.json()) as {
    id: string
    last_updated: string
    quotes: { USD: Record<string, number> }
  }[]
  for (const t of tickers)
    rows.push([
      `cp:${t.id}`,
      t.last_updated,
      t.quotes.USD.price!,
      t.quotes.USD.market_cap!,
      t.quotes.USD.volume_24h!,
    ])
  return rows
}

const TABLE = `CREATE TABLE IF NOT EXISTS bare_cycle (id text, observed_at text, price double precision,
  market_cap double precision, volume double precision, PRIMARY KEY (id, observed_at))`

export async function bareCycle(
  dialect: 'sqlite' | 'postgres',
  target: string,
  urls: { coingeckoUrl: string; coinpaprikaUrl: string },
  pages: number,
  perPage: number,
): Promise<BareCycle> {
  const cpu = process.cpuUsage()
  const started = performance.now()
  const rows = await fetchRows(urls, pages, perPage)
  if (dialect === 'sqlite') {
    const db = new Database(target)
    db.pragma('journal_mode = WAL')
    db.exec(TABLE)
    const insert = db.prepare('INSERT INTO bare_cycle VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
    db.transaction(() => {
      for (const row of rows) insert.run(...row)
    })()
    db.close()
  } else {
    const client = new pg.Client({ connectionString: target })
    await client.connect()
    await client.query(TABLE)
    const columns = [0, 1, 2, 3, 4].map((c) => rows.map((r) => r[c]))
    await client.query(
      `INSERT INTO bare_cycle SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[])
       ON CONFLICT DO NOTHING`,
      columns,
    )
    await client.end()
  }
  const used = process.cpuUsage(cpu)
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    rows: rows.length,
  }
}
