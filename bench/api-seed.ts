import { rmSync } from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import SqliteDatabase from 'better-sqlite3'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { parseDatabaseUrl } from '../src/config.js'
import { migrateToLatest, openDatabase, type Db } from '../src/db/database.js'
import { rebuildCandleHours } from '../src/db/repositories/candle-hours-repository.js'
import { RECORD_COLUMNS, recordParams } from '../src/db/dialects/record-columns.js'
import { insertAsset } from '../src/db/repositories/asset-repository.js'
import type { NewRecord } from '../src/domain/record.js'
import { seededRandom } from '../test/helpers/seeded-random.js'

interface SeedAsset {
  readonly id: string
  readonly symbol: string
  readonly name: string
}

/** Seeded data for the API benchmark: one hourly series per asset, about 2,000 points each. */
export interface SeedPlan {
  /** Every record, the candle asset's included. */
  readonly records: number
  readonly assets: readonly SeedAsset[]
  /** Points per asset (the last hour may cover only some assets). */
  readonly timestamps: number
  /** The candle case: one more asset, observed by two sources every 10 minutes over a year. */
  readonly candles?: CandleSeed
}

export interface CandleSeed {
  readonly asset: SeedAsset
  readonly sources: readonly string[]
  /** The observed year, `[fromMs, toMs)`, whole hours: the last year of the other assets' series. */
  readonly fromMs: number
  readonly toMs: number
  readonly everyMs: number
  /** Records of the candle asset. */
  readonly records: number
}

export interface SeededDatabase {
  readonly url: string
  readonly where: string
  readonly seedSeconds: number
  /** Removes the database: a PostgreSQL database is dropped, a SQLite file deleted. Idempotent. */
  dispose(): Promise<void>
}

const POINTS_PER_ASSET = 2000
const MAX_ASSETS = 500
const START_MS = Date.UTC(2025, 0, 1)
const HOUR_MS = 3_600_000
const SQLITE_BATCH_ROWS = 50_000

const YEAR_HOURS = 365 * 24

/**
 * `records` records, of which a year of one asset (`candlecoin`) observed every `everyMinutes` (a
 * divisor of 60) by CoinGecko and CoinPaprika: 17,520 records hourly, 105,120 every 10 minutes as the
 * default schedule stores them, spread through the table in load order like the rest. The other
 * assets' hourly series fill the remainder.
 */
export function candleSeedPlan(records: number, everyMinutes: number): SeedPlan {
  if (60 % everyMinutes !== 0) throw new Error(`--candle-every-min must divide 60, got ${everyMinutes}`)
  const sources = ['coingecko', 'coinpaprika']
  const candleRecords = YEAR_HOURS * (60 / everyMinutes) * sources.length
  if (records <= candleRecords) throw new Error(`--candle-records must exceed ${candleRecords}`)
  const rest = seedPlan(records - candleRecords)
  const toMs = START_MS + Math.max(rest.timestamps, YEAR_HOURS) * HOUR_MS
  return {
    ...rest,
    records,
    candles: {
      asset: { id: 'candlecoin', symbol: 'CNDL', name: 'Candle Coin' },
      sources,
      fromMs: toMs - YEAR_HOURS * HOUR_MS,
      toMs,
      everyMs: everyMinutes * 60_000,
      records: candleRecords,
    },
  }
}

export function seedPlan(records: number): SeedPlan {
  const assetCount = Math.min(MAX_ASSETS, Math.max(1, Math.round(records / POINTS_PER_ASSET)))
  const assets = Array.from({ length: assetCount }, (_, i) => {
    const n = String(i + 1).padStart(4, '0')
    return { id: `benchcoin-${n}`, symbol: `BC${n}`, name: `Bench Coin ${n}` }
  })
  return { records, assets, timestamps: Math.ceil(records / assetCount) }
}

const round = (value: number) => Number(value.toPrecision(10))

/**
 * Records in load order (every asset at one hour, then the next hour), as an hourly ETL run writes
 * them: a random walk per asset with realistic magnitudes and some unknown (NULL) values.
 */
export function* generateRecords(plan: SeedPlan): Generator<NewRecord> {
  // Seeded, so both dialects hold the same rows.
  const rand = seededRandom(42)
  const gauss = () => (rand() + rand() + rand() - 1.5) * 2
  const state = plan.assets.map((asset, i) => {
    const price = 10 ** (rand() * 8 - 4)
    const supply = 10 ** (6 + rand() * 5)
    return {
      asset,
      source: i % 3 === 2 ? 'coinpaprika' : 'coingecko',
      offsetMs: Math.floor(rand() * 60) * 1000,
      price,
      supply,
      volatility: 0.002 + rand() * 0.018,
      maxSupply: rand() < 0.4 ? null : round(supply * (1 + rand() * 2)),
      totalSupply: rand() < 0.1 ? null : round(supply * (1 + rand() * 0.2)),
      history: new Array<number>(24).fill(price),
    }
  })
  const candles = plan.candles
  const seriesRecords = plan.records - (candles?.records ?? 0)
  const candleHour = candles ? candleRecords(candles) : undefined
  const hours = candles ? Math.max(plan.timestamps, (candles.toMs - START_MS) / HOUR_MS) : plan.timestamps
  let written = 0
  for (let t = 0; t < hours; t++) {
    for (const [i, s] of state.entries()) {
      if (written === seriesRecords) break
      written++
      const dayAgo = s.history[t % 24] ?? s.price
      s.price *= Math.exp(s.volatility * gauss())
      s.history[t % 24] = s.price
      s.supply *= 1 + rand() * 1e-5
      const observed = START_MS + t * HOUR_MS + s.offsetMs
      const marketCap = s.price * s.supply
      yield {
        assetId: s.asset.id,
        source: s.source,
        sourceAssetId: s.asset.id,
        observedAt: new Date(observed).toISOString(),
        priceUsd: round(s.price),
        marketCapUsd: rand() < 0.01 ? null : round(marketCap),
        volume24hUsd: rand() < 0.02 ? null : round(marketCap * (0.005 + rand() * 0.2)),
        change24hPct: t < 24 ? null : round((s.price / dayAgo - 1) * 100),
        rank: rand() < 0.005 ? null : i + 1,
        circulatingSupply: round(s.supply),
        totalSupply: s.totalSupply,
        maxSupply: s.maxSupply,
        runId: t + 1,
        rawBatchId: t + 1,
        loadedAt: new Date(observed + 45_000 + i * 10).toISOString(),
      }
    }
    if (candleHour) yield* candleHour(START_MS + t * HOUR_MS)
  }
}

/** The candle asset's records of one hour, per 10-minute slot one per source, both near one price. */
function candleRecords(candles: CandleSeed): (hourMs: number) => Generator<NewRecord> {
  const rand = seededRandom(7)
  let price = 30_000
  const supply = 19_000_000
  return function* (hourMs) {
    for (let at = hourMs; at < hourMs + HOUR_MS; at += candles.everyMs) {
      if (at < candles.fromMs || at >= candles.toMs) continue
      price *= Math.exp(0.002 * (rand() - 0.5))
      for (const [k, source] of candles.sources.entries()) {
        const quoted = round(price * (1 + (rand() - 0.5) * 0.002))
        const observed = at + 17_000 + k * 26_000
        yield {
          assetId: candles.asset.id,
          source,
          sourceAssetId: candles.asset.id,
          observedAt: new Date(observed).toISOString(),
          priceUsd: quoted,
          marketCapUsd: round(quoted * supply),
          volume24hUsd: round(quoted * supply * (0.02 + rand() * 0.01)),
          change24hPct: null,
          rank: 1,
          circulatingSupply: supply,
          totalSupply: supply,
          maxSupply: 21_000_000,
          runId: Math.floor((observed - START_MS) / HOUR_MS) + 1,
          rawBatchId: Math.floor((observed - START_MS) / HOUR_MS) + 1,
          loadedAt: new Date(observed + 45_000).toISOString(),
        }
      }
    }
  }
}

/**
 * A fresh SQLite file at `path`: migrated by coinpipe, then seeded by one prepared insert of every
 * record column in large transactions (the seed's records vary in run and load time, which a
 * pipeline batch never does).
 */
export async function seedSqlite(path: string, plan: SeedPlan): Promise<SeededDatabase> {
  const started = performance.now()
  const db = await openDatabase(parseDatabaseUrl(`sqlite:${path}`))
  try {
    await migrateAndInsertAssets(db, plan)
  } finally {
    await db.close()
  }
  const raw = new SqliteDatabase(path)
  try {
    const insert = raw.prepare(
      `INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map(() => '?').join(', ')})`,
    )
    const insertAll = raw.transaction((records: NewRecord[]) => {
      for (const record of records) insert.run(recordParams(record))
    })
    let batch: NewRecord[] = []
    for (const record of generateRecords(plan)) {
      batch.push(record)
      if (batch.length === SQLITE_BATCH_ROWS) {
        insertAll(batch)
        batch = []
      }
    }
    insertAll(batch)
  } finally {
    raw.close()
  }
  await buildCandleRollup(`sqlite:${path}`, plan)
  const analysed = new SqliteDatabase(path)
  try {
    analysed.exec('analyze')
    analysed.pragma('wal_checkpoint(truncate)')
  } finally {
    analysed.close()
  }
  const url = `sqlite:${path}`
  return {
    url,
    where: path,
    seedSeconds: (performance.now() - started) / 1000,
    dispose: () => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
      return Promise.resolve()
    },
  }
}

/**
 * A throwaway `coinpipe_benchapi_<ts>` database on the server at `adminUrl`, migrated and seeded by
 * COPY with the same rows as SQLite; `undefined` when the server cannot be reached.
 */
export async function seedPostgres(adminUrl: string, plan: SeedPlan): Promise<SeededDatabase | undefined> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch {
    await admin.end().catch(() => undefined)
    return undefined
  }
  const started = performance.now()
  const name = `coinpipe_benchapi_${Date.now()}`
  const target = new URL(adminUrl)
  target.pathname = `/${name}`
  const url = target.toString()
  let disposed = false
  const dispose = async () => {
    if (disposed) return
    disposed = true
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    } finally {
      await admin.end()
    }
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`)
    await seedPostgresDatabase(url, plan)
  } catch (error) {
    await dispose()
    throw error
  }
  return {
    url,
    where: `database ${name} on ${target.host}`,
    seedSeconds: (performance.now() - started) / 1000,
    dispose,
  }
}

/**
 * The PostgreSQL database at `url` (a fresh or freshly migrated one) migrated by coinpipe, then
 * seeded with `plan`'s records by one COPY and analysed.
 */
export async function seedPostgresDatabase(url: string, plan: SeedPlan): Promise<void> {
  const db = await openDatabase(parseDatabaseUrl(url))
  try {
    await migrateAndInsertAssets(db, plan)
  } finally {
    await db.close()
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const copy = client.query(
      copyFrom(`COPY records (${RECORD_COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT csv)`),
    )
    await pipeline(Readable.from(csvChunks(plan)), copy)
    await buildCandleRollup(url, plan)
    await client.query('VACUUM ANALYZE')
    // The seed's gigabytes of dirty pages are flushed now, not by the checkpointer while requests are timed.
    await client.query('CHECKPOINT')
  } finally {
    await client.end()
  }
}

/**
 * The candle asset's hourly rollup, as coinpipe's load and refresh would have kept it. Only that
 * asset's: the others' would only add keys the candle case never reads, and rebuilding 10,000,000
 * records' history from scratch takes SQLite half an hour.
 */
async function buildCandleRollup(url: string, plan: SeedPlan): Promise<void> {
  if (!plan.candles) return
  const db = await openDatabase(parseDatabaseUrl(url))
  try {
    await rebuildCandleHours(db, { assetIds: [plan.candles.asset.id] })
  } finally {
    await db.close()
  }
}

async function migrateAndInsertAssets(db: Db, plan: SeedPlan): Promise<void> {
  await migrateToLatest(db)
  const createdAt = new Date(START_MS).toISOString()
  const assets = plan.candles ? [...plan.assets, plan.candles.asset] : plan.assets
  await db.kysely.transaction().execute(async (trx) => {
    for (const asset of assets) await insertAsset(trx, { ...asset, createdAt })
  })
}

/** CSV lines for COPY (an unquoted empty field is NULL), a few thousand rows per chunk. */
function* csvChunks(plan: SeedPlan): Generator<string> {
  let chunk = ''
  let rows = 0
  for (const record of generateRecords(plan)) {
    chunk +=
      recordParams(record)
        .map((v) => (v === null ? '' : String(v)))
        .join(',') + '\n'
    if (++rows % 5000 === 0) {
      yield chunk
      chunk = ''
    }
  }
  if (chunk !== '') yield chunk
}
