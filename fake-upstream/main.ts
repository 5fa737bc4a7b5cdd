/**
 * Runs the fake upstream standalone: `tsx fake-upstream/main.ts`, on 127.0.0.1 and the port in
 * FAKE_UPSTREAM_PORT (default 8081), until SIGINT or SIGTERM.
 */
import { startFakeUpstream } from './server.js'

const port = Number(process.env.FAKE_UPSTREAM_PORT ?? 8081)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `FAKE_UPSTREAM_PORT must be an integer port from 0 to 65535, not "${process.env.FAKE_UPSTREAM_PORT}"`,
  )
  process.exit(1)
}

const fake = await startFakeUpstream({ host: '127.0.0.1', port })
console.log(`fake CoinGecko:   ${fake.coingeckoUrl}`)
console.log(`fake CoinPaprika: ${fake.coinpaprikaUrl}`)

const stop = () => void fake.close().then(() => process.exit(0))
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
