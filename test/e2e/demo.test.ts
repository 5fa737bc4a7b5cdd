import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cliEnv, killStartedProcesses, logLines, REPO_ROOT, startProcess } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait-for.js'

interface Page {
  data: { source: string }[]
}

describe('npm run demo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coinpipe-demo-'))
  afterEach(async () => {
    await killStartedProcesses()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves live-looking data from the fake upstream, with no internet, and stops on SIGTERM', async () => {
    // What `npm run demo` runs after its build, on free ports and a throwaway database.
    const demo = startProcess(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      cwd: REPO_ROOT,
      env: cliEnv({
        PORT: '0',
        FAKE_UPSTREAM_PORT: '0',
        DATABASE_URL: `sqlite:${join(dir, 'demo.db')}`,
        LOG_LEVEL: 'info',
        // cliEnv turns schedules off for other tests; the demo's own defaults are these.
        ETL_RUN_ON_START: 'true',
        ETL_SCHEDULE: '* * * * *',
      }),
    })
    const serving = await waitFor(
      () => {
        if (demo.exitedYet()) throw new Error(`the demo exited early:\n${demo.stderr()}`)
        return logLines(demo.stdout()).find((line) => line.msg === 'coinpipe is serving')
      },
      { what: 'the demo to serve', timeoutMs: 30_000 },
    )
    const url = serving.url as string
    for (const source of ['coingecko', 'coinpaprika', 'csv']) {
      await waitFor(
        async () => {
          const page = (await (await fetch(`${url}/api/v1/records?source=${source}&limit=5`)).json()) as Page
          return page.data.length > 0
        },
        { what: `records from ${source}`, timeoutMs: 30_000 },
      )
    }
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string }
    expect(health.status).toBe('ok')
    expect(demo.stdout()).toContain('fake upstream')

    process.kill(demo.pid, 'SIGTERM')
    const stopped = await demo.exited
    expect(stopped.code, stopped.stderr).toBe(0)
  }, 90_000)
})
