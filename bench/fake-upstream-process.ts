import { createInterface } from 'node:readline'
import { startFakeUpstream } from '../fake-upstream/server.js'

/**
 * The fake upstream in a process of its own, so its CPU is not billed to coinpipe:
 * `tsx bench/fake-upstream-process.ts <coingecko markets> <coinpaprika tickers>`. Prints one JSON
 * line with its URLs; each `advance <ms>` line on stdin moves its clock and answers `ok`.
 * SIGTERM stops it.
 */
const [markets = '500', tickers = '2000'] = process.argv.slice(2)
const fake = await startFakeUpstream({
  coingeckoMarkets: Number(markets),
  coinpaprikaTickers: Number(tickers),
  coinpaprikaPlan: 'paid',
})
console.log(JSON.stringify({ coingeckoUrl: fake.coingeckoUrl, coinpaprikaUrl: fake.coinpaprikaUrl }))
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, ms] = line.trim().split(/\s+/)
  if (command === 'advance') {
    fake.advance(Number(ms))
    console.log('ok')
  }
})
process.once('SIGTERM', () => void fake.close().then(() => process.exit(0)))
