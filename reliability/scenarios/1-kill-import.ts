import { setTimeout as sleep } from 'node:timers/promises'
import { join } from 'node:path'
import type { BenchServer } from '../../bench/bench-databases.js'
import { cliEnv, runCli, startCli } from '../../test/helpers/cli.js'
import { writeLargeCsv } from '../../test/helpers/large-csv.js'
import { compareRecords, recordLines, runsOf } from '../database-state.js'
import { seededRandom } from '../../test/helpers/seeded-random.js'
import type { Scenario, ScenarioResult } from '../scenario.js'

const BATCH_ROWS = 2000
const PROFILES = {
  short: { trials: 3, rows: 50_000 },
  full: { trials: 20, rows: 200_000 },
} as const

const scenario: Scenario = {
  id: 'kill-import',
  async run({ server, profile, seed, workDir }) {
    return [await killImports(server, { ...PROFILES[profile], seed, workDir })]
  },
}
export default scenario

export interface KillImportOptions {
  readonly trials: number
  readonly rows: number
  readonly seed: number
  readonly workDir: string
}

/**
 * Scenario 1, imports: a CSV import `kill -9`'d at a random moment (seeded), then the next import
 * of the same file. Each trial must end with exactly the records of an import never killed, and
 * the killed run, if it was still running, marked RUN_INTERRUPTED by the next one.
 */
export async function killImports(server: BenchServer, options: KillImportOptions): Promise<ScenarioResult> {
  const csv = await writeLargeCsv(join(options.workDir, `kill-${options.rows}.csv`), {
    rows: options.rows,
    duplicateEvery: 100,
  })
  const args = ['etl', 'run', '--file', csv.path, '--json']
  const envFor = (url: string) => cliEnv({ DATABASE_URL: url, CSV_BATCH_ROWS: String(BATCH_ROWS) })

  const reference = await server.create('reliability_ref')
  const started = performance.now()
  const clean = await runCli(args, { cwd: options.workDir, env: envFor(reference.url), timeoutMs: 300_000 })
  if (clean.code !== 0) throw new Error(`the reference import failed:\n${clean.stderr}`)
  const cleanMs = performance.now() - started
  const expected = await recordLines(reference.url)
  await reference.drop()

  const random = seededRandom(options.seed)
  let lost = 0
  let duplicated = 0
  let wrongStatus = 0
  let midRun = 0
  const failures: string[] = []
  for (let trial = 0; trial < options.trials; trial++) {
    // Anywhere from process start to a little past the clean import's end.
    const killAfterMs = Math.round(random() * cleanMs * 1.1)
    const db = await server.create(`reliability_kill_${trial}`)
    try {
      const victim = startCli(args, { cwd: options.workDir, env: envFor(db.url) })
      await Promise.race([sleep(killAfterMs), victim.exited])
      const killedMidRun = !victim.exitedYet()
      if (killedMidRun) {
        victim.child.kill('SIGKILL')
        midRun++
      }
      await victim.exited
      const runsBefore = await runsOf(db.url)
      const resumed = await runCli(args, { cwd: options.workDir, env: envFor(db.url), timeoutMs: 300_000 })
      const runs = await runsOf(db.url)
      const diff = compareRecords(expected, await recordLines(db.url))
      lost += diff.lost
      duplicated += diff.duplicated
      // What the next run must have made of the run the kill left `running`.
      const left = runsBefore.filter((r) => r.status === 'running')
      const misjudged = left.filter((r) => {
        const after = runs.find((a) => a.id === r.id)
        return !(after?.status === 'failed' && after.errorCode === 'RUN_INTERRUPTED')
      }).length
      const resumeFailed = resumed.code !== 0 ? 1 : 0
      wrongStatus += misjudged + resumeFailed
      if (diff.lost + diff.duplicated + misjudged + resumeFailed > 0)
        failures.push(
          `trial ${trial} (seed ${options.seed}, kill after ${killAfterMs} ms${killedMidRun ? '' : ', after the import ended'}): ` +
            `${diff.lost} lost, ${diff.duplicated} duplicated, ${misjudged} killed runs not RUN_INTERRUPTED` +
            (resumeFailed ? `, the resuming import exited ${resumed.code}: ${resumed.stderr.trim()}` : ''),
        )
    } finally {
      await db.drop()
    }
  }
  return {
    scenario: `kill -9 during a ${options.rows.toLocaleString('en-US')}-row CSV import`,
    dialect: server.dialect,
    trials: options.trials,
    lost,
    duplicated,
    wrongStatus,
    fiveXx: null,
    p99Ms: null,
    detail: `${midRun} of ${options.trials} kills landed mid-import (the rest after it ended); seed ${options.seed}`,
    failures,
  }
}
