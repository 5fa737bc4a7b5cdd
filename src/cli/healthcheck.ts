/**
 * `node dist/cli/healthcheck.js` (or `npm run healthcheck`): the container's HEALTHCHECK, usable
 * anywhere. GET /health where the configuration says `coinpipe serve` listens; exit 0 on a 2xx answer
 * (`ok`, or `degraded`: a source's last run failed), 1 otherwise (503 database down, refused, timeout,
 * bad configuration). It loads the config alone, not the app, since it runs every few seconds.
 */
import { loadConfig } from '../config.js'
import { errorMessage } from '../errors.js'

// Below the HEALTHCHECK --timeout (5 s), so that a hung server fails here, with a message.
const TIMEOUT_MS = 4000
// A wildcard address listens on loopback too; any other address is reached where it listens.
const WILDCARDS: Readonly<Record<string, string>> = { '0.0.0.0': '127.0.0.1', '::': '[::1]' }

/** The /health URL of a server listening on `host`:`port`. */
function healthUrl(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1')
  const target = WILDCARDS[bare] ?? (bare.includes(':') ? `[${bare}]` : bare)
  return `http://${target}:${port}/health`
}

async function probe(): Promise<number> {
  let url: string
  try {
    const { host, port } = loadConfig().http
    url = healthUrl(host, port)
  } catch (error) {
    console.error(`unhealthy: ${errorMessage(error)}`)
    return 1
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
    const body = (await response.json().catch(() => ({}))) as { status?: unknown }
    const status = typeof body.status === 'string' ? body.status : 'no status'
    if (!response.ok) {
      console.error(`unhealthy: ${url} answered ${response.status} (${status})`)
      return 1
    }
    console.log(`healthy: ${url} answered ${response.status} (${status})`)
    return 0
  } catch (error) {
    // fetch keeps the reason (ECONNREFUSED, a bad port) in its cause; a timeout is the error itself.
    const cause = (error as { cause?: unknown }).cause
    const code = (cause as { code?: unknown } | undefined)?.code
    const reason = typeof code === 'string' ? code : errorMessage(cause ?? error)
    console.error(`unhealthy: ${url} did not answer: ${reason}`)
    return 1
  }
}

process.exitCode = await probe()
