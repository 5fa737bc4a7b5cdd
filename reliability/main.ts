import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { postgresServer, sqliteServer, type BenchServer } from '../bench/bench-databases.js'
import { killImports } from './kill-import.js'
import type { ScenarioResult } from './scenario.js'

/**
 * `npm run reliability -- [--profile short|full] [--seed N] [--dialects sqlite,postgres]`: each
 * scenario's trials on each dialect, one table of figures on stdout and in reliability-report.json;
 * exit 1 on any record lost or duplicated or any run in the wrong status, with the seed and trial
 * that reproduce it. `short` is the profile CI can afford; `full` the issue's counts.
 */
const PROFILES = {
  short: { importTrials: 3, importRows: 50_000 },
  full: { importTrials: 20, importRows: 200_000 },
} as const
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

const { values: flags } = parseArgs({
  options: {
    profile: { type: 'string' },
    seed: { type: 'string' },
    dialects: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (flags.help) {
  console.log('usage: npm run reliability -- [--profile short|full] [--seed N] [--dialects sqlite,postgres]')
  process.exit(0)
}
const profileName = flags.profile ?? 'full'
if (profileName !== 'short' && profileName !== 'full') throw new Error(`unknown profile ${profileName}`)
const profile = PROFILES[profileName]
const seed = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(flags.seed)
const dialects = (flags.dialects ?? 'sqlite,postgres').split(',').map((d) => d.trim())

const workDir = mkdtempSync(join(tmpdir(), 'coinpipe-reliability-'))
const results: ScenarioResult[] = []
console.log(`reliability, profile ${profileName}, seed ${seed} (rerun with --seed ${seed})\n`)
try {
  for (const dialect of dialects) {
    const server = await openServer(dialect)
    if (!server) {
      console.log(`${dialect}: not reachable, skipped`)
      continue
    }
    try {
      results.push(
        await killImports(server, {
          trials: profile.importTrials,
          rows: profile.importRows,
          seed,
          workDir,
        }),
      )
    } finally {
      await server.dispose()
    }
  }
} finally {
  rmSync(workDir, { recursive: true, force: true })
}

console.log(formatTable(results))
for (const r of results) console.log(`  ${r.scenario} on ${r.dialect}: ${r.detail}`)
writeFileSync(
  'reliability-report.json',
  `${JSON.stringify({ profile: profileName, seed, results }, null, 2)}\n`,
)
const failures = results.flatMap((r) => r.failures.map((f) => `${r.scenario} on ${r.dialect}: ${f}`))
if (failures.length > 0) {
  console.error(`\nFAILED:\n${failures.map((f) => `  ${f}`).join('\n')}`)
  process.exit(1)
}

async function openServer(dialect: string): Promise<BenchServer | undefined> {
  if (dialect === 'sqlite') return sqliteServer(workDir)
  if (dialect === 'postgres')
    return postgresServer(process.env.RELIABILITY_POSTGRES_URL ?? DEFAULT_POSTGRES_URL)
  throw new Error(`unknown dialect ${dialect}: expected sqlite or postgres`)
}

function formatTable(rows: readonly ScenarioResult[]): string {
  const header = ['scenario', 'dialect', 'trials', 'lost', 'duplicated', 'wrong status', '5xx', 'p99 ms']
  const cells = rows.map((r) => [
    r.scenario,
    r.dialect,
    String(r.trials),
    String(r.lost),
    String(r.duplicated),
    String(r.wrongStatus),
    r.fiveXx === null ? '-' : String(r.fiveXx),
    r.p99Ms === null ? '-' : String(r.p99Ms),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: readonly string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...cells.map(line)].join('\n')
}
