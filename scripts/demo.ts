/**
 * `npm run demo`: coinpipe end to end with no internet. Starts the fake upstream, moves its clock a
 * minute every real minute, and runs `coinpipe serve` against it with an every-minute ETL schedule.
 * Any variable already in the environment wins, except the two base URLs, which always point at the fake.
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { fileURLToPath } from 'node:url'
import { startFakeUpstream } from '../fake-upstream/server.js'

const MINUTE_MS = 60_000
const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const MAIN = fileURLToPath(new URL('../dist/bin/coinpipe.js', import.meta.url))

const fake = await startFakeUpstream({ port: Number(process.env.FAKE_UPSTREAM_PORT ?? 8081) })
const clock = setInterval(() => fake.advance(MINUTE_MS), MINUTE_MS)

const env: NodeJS.ProcessEnv = {
  DATABASE_URL: 'sqlite:data/demo.db',
  PORT: '8080',
  SOURCES: 'coingecko,coinpaprika,csv',
  ETL_SCHEDULE: '* * * * *',
  ETL_RUN_ON_START: 'true',
  COINGECKO_RATE_LIMIT: '60/60s',
  ...process.env,
  COINGECKO_BASE_URL: fake.coingeckoUrl,
  COINPAPRIKA_BASE_URL: fake.coinpaprikaUrl,
}
const app = `http://${env.HOST ?? '127.0.0.1'}:${env.PORT ?? 8080}`
console.log(`fake upstream  ${fake.coingeckoUrl}  ${fake.coinpaprikaUrl}`)
console.log(`dashboard      ${app}/`)
console.log(`API docs       ${app}/docs`)

// Detached: a terminal's Ctrl-C reaches only this process, which forwards it once, so `serve`
// shuts down gracefully instead of seeing the signal twice.
const child = spawn(process.execPath, [MAIN, 'serve'], {
  cwd: REPO_ROOT,
  env,
  stdio: 'inherit',
  detached: true,
})
const forwarded = new Set<NodeJS.Signals>()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (forwarded.has(signal)) return
    forwarded.add(signal)
    child.kill(signal)
  })
}

child.on('error', (error) => {
  console.error(`cannot start coinpipe: ${error.message}`)
  clearInterval(clock)
  void fake.close().finally(() => process.exit(1))
})
child.on('exit', (code, signal) => {
  clearInterval(clock)
  void fake.close().finally(() => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 1)))
})
