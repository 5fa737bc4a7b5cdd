/**
 * Writes data/sample-prices.csv: synthetic daily prices of ten coins from 2024-01-01 to 2025-03-31,
 * following real historical levels, with a fixed set of real-world CSV quirks. Deterministic: every
 * run writes the same bytes. Run with `npx tsx scripts/generate-sample-csv.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const OUTPUT = new URL('../data/sample-prices.csv', import.meta.url)
const HEADER = 'date,symbol,name,price_usd,market_cap_usd,volume_24h_usd'
const FIRST_DAY = Date.UTC(2024, 0, 1)
const DAY_COUNT = (Date.UTC(2025, 2, 31) - FIRST_DAY) / 86_400_000 + 1
const PRICE_SEED = 20_240_101
const QUIRK_SEED = 42

interface Coin {
  symbol: string
  name: string
  /** Circulating supply on the first and the last day, interpolated in between. */
  supply: [number, number]
  dailyVolatility: number
  /** Typical 24h volume as a fraction of market cap. */
  turnover: number
  /** Historical price levels the random walk passes through: [YYYY-MM-DD, price]. */
  anchors: [string, number][]
}

// prettier-ignore
const COINS: Coin[] = [
  {
    symbol: 'BTC', name: 'Bitcoin', supply: [19.58e6, 19.85e6], dailyVolatility: 0.025, turnover: 0.03,
    anchors: [
      ['2024-01-01', 42_280], ['2024-01-23', 39_500], ['2024-03-13', 72_800], ['2024-05-01', 58_200],
      ['2024-06-05', 71_000], ['2024-08-05', 54_000], ['2024-08-25', 64_000], ['2024-09-06', 54_000],
      ['2024-11-12', 88_000], ['2024-12-05', 98_000], ['2024-12-17', 106_000], ['2024-12-31', 93_500],
      ['2025-01-20', 105_000], ['2025-02-28', 84_000], ['2025-03-31', 82_500],
    ],
  },
  {
    symbol: 'ETH', name: 'Ethereum', supply: [120.2e6, 120.6e6], dailyVolatility: 0.03, turnover: 0.05,
    anchors: [
      ['2024-01-01', 2_350], ['2024-01-23', 2_240], ['2024-03-12', 3_990], ['2024-05-01', 2_970],
      ['2024-05-27', 3_890], ['2024-08-05', 2_420], ['2024-08-25', 2_750], ['2024-09-06', 2_230],
      ['2024-11-04', 2_420], ['2024-12-16', 3_990], ['2024-12-31', 3_340], ['2025-02-03', 2_880],
      ['2025-02-28', 2_240], ['2025-03-10', 2_020], ['2025-03-31', 1_820],
    ],
  },
  {
    symbol: 'BNB', name: 'BNB', supply: [153.8e6, 142.5e6], dailyVolatility: 0.025, turnover: 0.02,
    anchors: [
      ['2024-01-01', 312], ['2024-03-15', 610], ['2024-06-06', 700], ['2024-08-05', 480], ['2024-08-25', 590],
      ['2024-12-04', 790], ['2024-12-31', 700], ['2025-02-03', 580], ['2025-03-31', 605],
    ],
  },
  {
    symbol: 'SOL', name: 'Solana', supply: [434e6, 508e6], dailyVolatility: 0.04, turnover: 0.05,
    anchors: [
      ['2024-01-01', 101], ['2024-01-23', 82], ['2024-03-18', 200], ['2024-05-01', 130], ['2024-08-05', 120],
      ['2024-08-25', 160], ['2024-11-22', 258], ['2024-12-31', 190], ['2025-01-19', 265], ['2025-03-10', 125],
      ['2025-03-31', 125],
    ],
  },
  {
    symbol: 'XRP', name: 'XRP', supply: [54.1e9, 58.4e9], dailyVolatility: 0.035, turnover: 0.04,
    anchors: [
      ['2024-01-01', 0.62], ['2024-03-11', 0.72], ['2024-04-13', 0.49], ['2024-06-15', 0.49],
      ['2024-08-05', 0.5], ['2024-11-04', 0.5], ['2024-12-03', 2.5], ['2024-12-31', 2.08],
      ['2025-01-16', 3.2], ['2025-03-10', 2.05], ['2025-03-31', 2.09],
    ],
  },
  {
    symbol: 'ADA', name: 'Cardano', supply: [35.0e9, 35.7e9], dailyVolatility: 0.035, turnover: 0.03,
    anchors: [
      ['2024-01-01', 0.59], ['2024-03-14', 0.77], ['2024-08-05', 0.32], ['2024-10-31', 0.34],
      ['2024-12-03', 1.15], ['2024-12-31', 0.85], ['2025-03-02', 0.96], ['2025-03-31', 0.67],
    ],
  },
  {
    symbol: 'DOGE', name: 'Dogecoin', supply: [142.5e9, 148.6e9], dailyVolatility: 0.045, turnover: 0.06,
    anchors: [
      ['2024-01-01', 0.09], ['2024-01-23', 0.078], ['2024-03-28', 0.215], ['2024-08-05', 0.092],
      ['2024-10-15', 0.11], ['2024-12-08', 0.46], ['2024-12-31', 0.32], ['2025-03-10', 0.16],
      ['2025-03-31', 0.168],
    ],
  },
  {
    symbol: 'AVAX', name: 'Avalanche', supply: [368e6, 415e6], dailyVolatility: 0.04, turnover: 0.04,
    anchors: [
      ['2024-01-01', 38], ['2024-01-23', 29], ['2024-03-14', 57], ['2024-08-05', 20], ['2024-10-31', 25],
      ['2024-12-09', 53], ['2024-12-31', 36], ['2025-03-10', 17], ['2025-03-31', 19.2],
    ],
  },
  {
    symbol: 'DOT', name: 'Polkadot', supply: [1.28e9, 1.54e9], dailyVolatility: 0.035, turnover: 0.035,
    anchors: [
      ['2024-01-01', 8.3], ['2024-03-14', 11.6], ['2024-08-05', 4.3], ['2024-10-31', 4], ['2024-12-04', 11],
      ['2024-12-31', 6.7], ['2025-03-10', 3.9], ['2025-03-31', 4.1],
    ],
  },
  {
    symbol: 'SHIB', name: 'Shiba Inu', supply: [589.3e12, 589.2e12], dailyVolatility: 0.045, turnover: 0.04,
    anchors: [
      ['2024-01-01', 1.03e-5], ['2024-02-08', 0.97e-5], ['2024-03-05', 2.9e-5], ['2024-08-05', 1.25e-5],
      ['2024-10-15', 1.8e-5], ['2024-12-08', 2.95e-5], ['2024-12-31', 2.1e-5], ['2025-03-10', 1.2e-5],
      ['2025-03-31', 1.25e-5],
    ],
  },
]

type Quirk =
  | 'datetime date'
  | 'unix-seconds date'
  | 'dollar price with thousands separators'
  | 'N/A market cap'
  | 'empty market cap'
  | 'lowercase symbol'
  | 'symbol with surrounding spaces'
  | 'exact duplicate'
  | 'semantic duplicate'
  | 'conflicting duplicate'
  | 'wrong column count'
  | 'empty price'
  | 'unparseable date'

/** How many slots each quirk takes; `big` quirks go to BTC or ETH, whose prices show thousands separators. */
const QUIRK_PLAN: { quirk: Quirk; count: number; big?: boolean }[] = [
  { quirk: 'datetime date', count: 5 },
  { quirk: 'unix-seconds date', count: 5 },
  { quirk: 'dollar price with thousands separators', count: 6, big: true },
  { quirk: 'N/A market cap', count: 4 },
  { quirk: 'empty market cap', count: 3 },
  { quirk: 'lowercase symbol', count: 3 },
  { quirk: 'symbol with surrounding spaces', count: 3 },
  { quirk: 'exact duplicate', count: 3 },
  { quirk: 'semantic duplicate', count: 2, big: true },
  { quirk: 'conflicting duplicate', count: 1 },
  { quirk: 'wrong column count', count: 2, big: true },
  { quirk: 'empty price', count: 1 },
  { quirk: 'unparseable date', count: 1 },
]

interface CleanRow {
  day: number
  coin: Coin
  price: string
  marketCap: string
  volume: string
}

interface OutputRow {
  line: string
  /** `SYMBOL day` when a strict loader should accept the row, otherwise undefined. */
  key: string | undefined
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

function dayIndex(isoDate: string): number {
  return (Date.parse(`${isoDate}T00:00:00Z`) - FIRST_DAY) / 86_400_000
}

function isoDay(day: number): string {
  return new Date(FIRST_DAY + day * 86_400_000).toISOString().slice(0, 10)
}

/** A Brownian bridge in log space between consecutive anchors, each jittered by about 1.5%. */
function logPricePath(coin: Coin, random: () => number): number[] {
  const levels = coin.anchors.map(([date, price]) => ({
    day: dayIndex(date),
    logPrice: Math.log(price) + 0.015 * gaussian(random),
  }))
  const path: number[] = []
  for (let i = 0; i + 1 < levels.length; i++) {
    const from = levels[i]!
    const to = levels[i + 1]!
    const steps = to.day - from.day
    const walk = [0]
    for (let k = 1; k <= steps; k++) walk.push(walk[k - 1]! + coin.dailyVolatility * gaussian(random))
    const drift = to.logPrice - from.logPrice
    for (let k = i === 0 ? 0 : 1; k <= steps; k++) {
      path.push(from.logPrice + (drift * k) / steps + walk[k]! - (walk[steps]! * k) / steps)
    }
  }
  return path
}

function formatPrice(symbol: string, price: number): string {
  if (symbol === 'SHIB') return price.toExponential(3)
  if (price >= 100) return price.toFixed(2)
  if (price >= 1) return price.toFixed(4)
  return price.toFixed(6)
}

function buildCleanRows(): CleanRow[][] {
  const byDay: CleanRow[][] = Array.from({ length: DAY_COUNT }, () => [])
  COINS.forEach((coin, coinIndex) => {
    const random = mulberry32(PRICE_SEED + coinIndex)
    const path = logPricePath(coin, random)
    if (path.length !== DAY_COUNT) throw new Error(`${coin.symbol} anchors must span all ${DAY_COUNT} days`)
    path.forEach((logPrice, day) => {
      const price = formatPrice(coin.symbol, Math.exp(logPrice))
      const supply = coin.supply[0] + ((coin.supply[1] - coin.supply[0]) * day) / (DAY_COUNT - 1)
      const marketCap = Number(price) * supply
      const move = Math.abs(logPrice - (path[day - 1] ?? logPrice))
      const turnover = coin.turnover * Math.exp(0.3 * gaussian(random)) * (1 + 10 * move)
      byDay[day]!.push({
        day,
        coin,
        price,
        marketCap: marketCap.toFixed(0),
        volume: (marketCap * turnover).toFixed(0),
      })
    })
  })
  return byDay
}

/** Gives each quirk its own (day, coin) slots, none shared, chosen by a seeded generator. */
function assignQuirks(): Map<string, Quirk> {
  const random = mulberry32(QUIRK_SEED)
  const assigned = new Map<string, Quirk>()
  for (const { quirk, count, big } of QUIRK_PLAN) {
    for (let placed = 0; placed < count;) {
      const day = Math.floor(random() * DAY_COUNT)
      const coinIndex = big === true ? Math.floor(random() * 2) : Math.floor(random() * COINS.length)
      const slot = `${day}:${coinIndex}`
      if (assigned.has(slot)) continue
      assigned.set(slot, quirk)
      placed++
    }
  }
  return assigned
}

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

function dollars(price: string): string {
  const [whole = '', fraction] = price.split('.')
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ',')
  return fraction === undefined ? `$${grouped}` : `$${grouped}.${fraction}`
}

function line(cells: string[]): string {
  return cells.map(csvCell).join(',')
}

function renderDay(rows: CleanRow[], quirks: Map<string, Quirk>, used: Map<Quirk, number>): OutputRow[] {
  const output: OutputRow[] = []
  const appended: OutputRow[] = []
  rows.forEach((row, coinIndex) => {
    const date = isoDay(row.day)
    const key = `${row.coin.symbol} ${date}`
    const epochSeconds = String(Date.parse(`${date}T00:00:00Z`) / 1000)
    const quirk = quirks.get(`${row.day}:${coinIndex}`)
    const cells = [date, row.coin.symbol, row.coin.name, row.price, row.marketCap, row.volume]
    let valid = true
    let extra: OutputRow | undefined
    if (quirk !== undefined) used.set(quirk, (used.get(quirk) ?? 0) + 1)

    switch (quirk) {
      case undefined:
        break
      case 'datetime date':
        cells[0] = `${date} 00:00:00`
        break
      case 'unix-seconds date':
        cells[0] = epochSeconds
        break
      case 'dollar price with thousands separators':
        cells[3] = dollars(row.price)
        break
      case 'N/A market cap':
        cells[4] = 'N/A'
        break
      case 'empty market cap':
        cells[4] = ''
        break
      case 'lowercase symbol':
        cells[1] = row.coin.symbol.toLowerCase()
        break
      case 'symbol with surrounding spaces':
        cells[1] = ` ${row.coin.symbol.toLowerCase()} `
        break
      case 'exact duplicate':
        extra = { line: line(cells), key }
        break
      case 'semantic duplicate': {
        const otherDate = (used.get(quirk) ?? 0) % 2 === 1 ? `${date} 00:00:00` : epochSeconds
        extra = { line: line([otherDate, ...cells.slice(1, 3), dollars(row.price), ...cells.slice(4)]), key }
        break
      }
      case 'conflicting duplicate': {
        const price = formatPrice(row.coin.symbol, Number(row.price) * 1.0125)
        const marketCap = ((Number(row.marketCap) * Number(price)) / Number(row.price)).toFixed(0)
        appended.push({ line: line([...cells.slice(0, 3), price, marketCap, row.volume]), key })
        break
      }
      case 'wrong column count': {
        valid = false
        const odd = (used.get(quirk) ?? 0) % 2 === 1
        // An unquoted "$64,150.25" splits into seven cells; a dropped name leaves five.
        const raw = odd
          ? [...cells.slice(0, 3), dollars(row.price), ...cells.slice(4)]
          : cells.toSpliced(2, 1)
        output.push({ line: raw.join(','), key: undefined })
        return
      }
      case 'empty price':
        valid = false
        cells[3] = ''
        break
      case 'unparseable date':
        valid = false
        cells[0] = `${date}T25:00:00`
        break
    }
    output.push({ line: line(cells), key: valid ? key : undefined })
    if (extra !== undefined) output.push(extra)
  })
  return [...output, ...appended]
}

function main(): void {
  const quirks = assignQuirks()
  const used = new Map<Quirk, number>()
  const rows = buildCleanRows().flatMap((day) => renderDay(day, quirks, used))

  mkdirSync(new URL('.', OUTPUT), { recursive: true })
  writeFileSync(OUTPUT, `\uFEFF${HEADER}\n${rows.map((row) => row.line).join('\n')}\n`)

  const validKeys = new Set(rows.flatMap((row) => (row.key === undefined ? [] : [row.key])))
  const summary: [string, number | string][] = [
    ['data rows', rows.length],
    ['(symbol, day) grid', `${COINS.length} coins x ${DAY_COUNT} days = ${COINS.length * DAY_COUNT}`],
    ['rows a strict loader rejects', rows.filter((row) => row.key === undefined).length],
    ['unique valid (symbol, day) keys', validKeys.size],
  ]
  for (const { quirk, count } of QUIRK_PLAN) {
    const written = used.get(quirk) ?? 0
    if (written !== count) throw new Error(`planned ${count} of ${quirk}, wrote ${written}`)
    summary.push([`quirk: ${quirk}`, written])
  }
  console.log(`wrote ${fileURLToPath(OUTPUT)} (UTF-8 with BOM)`)
  for (const [label, value] of summary) console.log(`  ${label.padEnd(48)} ${value}`)
}

main()
