import type { ServerProcess } from './api-process.js'
import type { SeedPlan } from './api-seed.js'

/** Under this p99, `GET /api/v1/assets/{id}/candles` over a year of hourly buckets meets its target. */
export const CANDLE_TARGET_MS = 100

export interface CandleSettings {
  readonly warmupRequests: number
  readonly requests: number
}

export interface CandleRun {
  readonly title: string
  readonly records: number
  readonly assetRecords: number
  readonly everyMinutes: number
  readonly buckets: number
  readonly seedSeconds: number
  readonly where: string
  readonly coinpipe: Latency
  readonly bare: Latency
}

interface Latency {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/**
 * Times `GET /api/v1/assets/candlecoin/candles?interval=1h` over the seeded year, one request at a
 * time (a chart asks once), against the bare route running the same SQL; the two take turns, so a
 * busy minute on the machine slows both.
 */
export async function measureCandles(
  coinpipe: ServerProcess,
  bare: ServerProcess,
  plan: SeedPlan,
  settings: CandleSettings,
): Promise<{ coinpipe: Latency; bare: Latency; buckets: number }> {
  const candles = plan.candles
  if (!candles) throw new Error('the candle case needs a candle seed plan')
  const from = new Date(candles.fromMs).toISOString()
  const to = new Date(candles.toMs).toISOString()
  const ours = `/api/v1/assets/${candles.asset.id}/candles?interval=1h&from=${from}&to=${to}`
  const theirs = `/candles?asset=${candles.asset.id}&from=${from}&to=${to}`
  const first = (await fetchJson(coinpipe, ours)) as { data: { points: number }[] }
  const bareRows = (await fetchJson(bare, theirs)) as { data: unknown[] }
  const expected = (candles.toMs - candles.fromMs) / 3_600_000
  if (first.data.length !== expected || bareRows.data.length !== expected)
    throw new Error(
      `candles: expected ${expected} buckets (and bare rows), got ${first.data.length} (${bareRows.data.length})`,
    )
  const times: Record<'coinpipe' | 'bare', number[]> = { coinpipe: [], bare: [] }
  for (let i = 0; i < settings.warmupRequests + settings.requests; i++) {
    // Alternating which goes first, so neither always meets a cache the other warmed.
    const order = i % 2 === 0 ? (['coinpipe', 'bare'] as const) : (['bare', 'coinpipe'] as const)
    for (const kind of order) {
      const started = performance.now()
      await fetchJson(kind === 'coinpipe' ? coinpipe : bare, kind === 'coinpipe' ? ours : theirs)
      if (i >= settings.warmupRequests) times[kind].push(performance.now() - started)
    }
  }
  return { coinpipe: latency(times.coinpipe), bare: latency(times.bare), buckets: expected }
}

export function formatCandleRun(run: CandleRun): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`
  const ratio = run.coinpipe.p50 / run.bare.p50
  const verdict = run.coinpipe.p99 < CANDLE_TARGET_MS ? 'PASS' : 'MISS'
  return [
    `${run.title}: candles over ${run.records.toLocaleString('en-US')} records (${run.where}, seeded in ${run.seedSeconds.toFixed(0)} s)`,
    `  GET /api/v1/assets/candlecoin/candles?interval=1h over a year: ${run.buckets.toLocaleString('en-US')} buckets ` +
      `from ${run.assetRecords.toLocaleString('en-US')} records (2 sources, one every ${run.everyMinutes} min each), one request at a time`,
    `  coinpipe (consensus)        p50 ${ms(run.coinpipe.p50)}   p99 ${ms(run.coinpipe.p99)}   max ${ms(run.coinpipe.max)}`,
    `  bare, same SQL, raw rows    p50 ${ms(run.bare.p50)}   p99 ${ms(run.bare.p99)}   max ${ms(run.bare.max)}`,
    `  coinpipe ÷ bare p50 ${ratio.toFixed(2)}×; p99 < ${CANDLE_TARGET_MS} ms: ${verdict}`,
  ].join('\n')
}

async function fetchJson(server: ServerProcess, path: string): Promise<unknown> {
  const response = await fetch(`${server.baseUrl}${path}`)
  if (!response.ok)
    throw new Error(`${server.kind} GET ${path}: HTTP ${response.status} ${await response.text()}`)
  return response.json()
}

function latency(times: number[]): Latency {
  const sorted = [...times].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN }
}
