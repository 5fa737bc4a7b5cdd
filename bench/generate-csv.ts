import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { finished } from 'node:stream/promises'

/** One asset of the generated file; `id` is what the baseline pre-creates in `assets`. */
export interface BenchAsset {
  readonly id: string
  readonly symbol: string
  readonly name: string
}

export const CSV_HEADER = 'date,symbol,name,price_usd,market_cap_usd,volume_24h_usd'
const ASSET_COUNT = 200
const FIRST_DAY_MS = Date.UTC(2012, 0, 1)
const DAY_MS = 86_400_000
const LINES_PER_WRITE = 2000

/** Well-known coins first (start price in USD, circulating supply), the rest made up. */
const KNOWN: readonly [string, string, number, number][] = [
  ['BTC', 'Bitcoin', 43_000, 19.6e6],
  ['ETH', 'Ethereum', 2_300, 120e6],
  ['USDT', 'Tether', 1, 91e9],
  ['BNB', 'BNB', 310, 153e6],
  ['SOL', 'Solana', 98, 430e6],
  ['XRP', 'XRP', 0.62, 54e9],
  ['USDC', 'USD Coin', 1, 25e9],
  ['ADA', 'Cardano', 0.58, 35e9],
  ['AVAX', 'Avalanche', 36, 365e6],
  ['DOGE', 'Dogecoin', 0.089, 142e9],
  ['DOT', 'Polkadot', 7.4, 1.3e9],
  ['TRX', 'TRON', 0.11, 88e9],
  ['LINK', 'Chainlink', 15, 560e6],
  ['MATIC', 'Polygon', 0.86, 9.3e9],
  ['SHIB', 'Shiba Inu', 0.0000098, 589e12],
  ['LTC', 'Litecoin', 72, 74e6],
  ['BCH', 'Bitcoin Cash', 245, 19.6e6],
  ['ATOM', 'Cosmos', 9.8, 380e6],
  ['XLM', 'Stellar', 0.12, 28e9],
  ['UNI', 'Uniswap', 6.2, 600e6],
]
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'ven',
  'tor',
  'zen',
  'qua',
  'nex',
  'sol',
  'dra',
  'vi',
  'mon',
  'tri',
]

/** The 200 assets of every generated file, deterministic. */
export function benchAssets(): BenchAsset[] {
  return benchAssetModels().map(({ id, symbol, name }) => ({ id, symbol, name }))
}

interface AssetModel extends BenchAsset {
  price: number
  supply: number
  /** Standard deviation of the daily log return. */
  readonly volatility: number
}

function benchAssetModels(): AssetModel[] {
  const random = mulberry32(42)
  const assets: AssetModel[] = KNOWN.map(([symbol, name, price, supply]) => ({
    id: slug(name),
    symbol,
    name,
    price,
    supply,
    volatility: price === 1 ? 0.0005 : 0.04,
  }))
  for (let n = assets.length; n < ASSET_COUNT; n++) {
    const word = [0, 1, 2].map((i) => SYLLABLES[(n * (i + 3) + i * 5) % SYLLABLES.length]).join('')
    const name = `${word[0]!.toUpperCase()}${word.slice(1)} ${n}`
    assets.push({
      id: slug(name),
      symbol: `${word.slice(0, 3).toUpperCase()}${n}`,
      name,
      price: 10 ** (random() * 10 - 6),
      supply: 10 ** (6 + random() * 6),
      volatility: 0.03 + random() * 0.05,
    })
  }
  return assets
}

/**
 * Writes `rows` clean rows (day by day, every asset each day, so (symbol, date) is unique) to `path`,
 * streaming: memory does not grow with `rows`. Prices follow a random walk; market caps and volumes
 * follow the price. Returns the file size in bytes.
 */
export async function generateCsv(path: string, rows: number): Promise<number> {
  const assets = benchAssetModels()
  const random = mulberry32(7)
  const out = createWriteStream(path)
  let bytes = 0
  let chunk = `${CSV_HEADER}\n`
  let pending = 0
  for (let i = 0; i < rows; i++) {
    const asset = assets[i % assets.length]!
    const day = Math.floor(i / assets.length)
    const date = new Date(FIRST_DAY_MS + day * DAY_MS).toISOString().slice(0, 10)
    asset.price *= Math.exp(asset.volatility * gaussian(random))
    asset.supply *= 1 + random() * 0.0005
    const marketCap = asset.price * asset.supply
    const volume = marketCap * (0.01 + random() * 0.14)
    chunk += `${date},${asset.symbol},${asset.name},${formatPrice(asset.price)},${marketCap.toFixed(0)},${volume.toFixed(0)}\n`
    if (++pending === LINES_PER_WRITE || i === rows - 1) {
      bytes += Buffer.byteLength(chunk)
      if (!out.write(chunk)) await once(out, 'drain')
      chunk = ''
      pending = 0
    }
  }
  if (chunk !== '') {
    bytes += Buffer.byteLength(chunk)
    out.write(chunk)
  }
  out.end()
  await finished(out)
  return bytes
}

/** About eight significant digits, never in exponent notation: `43125.771`, `0.0000098123456`. */
function formatPrice(price: number): string {
  const decimals = Math.min(14, Math.max(2, 7 - Math.floor(Math.log10(price))))
  return price.toFixed(decimals)
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-')
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random())
}

/** A small seeded PRNG, so every run writes the same file. */
function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
