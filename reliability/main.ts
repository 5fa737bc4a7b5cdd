import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { postgresServer, sqliteServer, type BenchServer } from '../bench/bench-databases.js'
import type { ProfileName, Scenario, ScenarioResult } from './scenario.js'

/**
 * `npm run reliability -- [--profile short|full] [--seed N] [--dialects sqlite,postgres] [--only id,…]`:
 * each scenario of `scenarios/` on each dialect, one table of figures on stdout and in
 * reliability-report.json; exit 1 on any record lost or duplicated, any run in the wrong status or
 * any 5xx, with the seed and trial that reproduce it. `short` is the profile CI can afford; `full`
 * the issue's counts.
 */
const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres'
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
const USAGE =
  'usage: npm run reliability -- [--profile short|full] [--seed N] [--dialects sqlite,postgres] [--only id,…]'

const { values: flags } = parseArgs({
  options: {
    profile: { type: 'string' },
    seed: { type: 'string' },
    dialects: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
const scenarios = await loadScenarios()
if (flags.help) {
  console.log(`${USAGE}\nscenarios: ${scenarios.map((s) => s.id).join(', ')}`)
  process.exit(0)
}
const profile = (flags.profile ?? 'full') as ProfileName
if (profile !== 'short' && profile !== 'full') throw new Error(`unknown profile ${String(profile)}`)
const seed = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(flags.seed)
const dialects = (flags.dialects ?? 'sqlite,postgres').split(',').map((d) => d.trim())
const only = flags.only?.split(',').map((id) => id.trim())
const unknown = only?.filter((id) => !scenarios.some((s) => s.id === id)) ?? []
if (unknown.length > 0)
  throw new Error(`unknown scenario ${unknown.join(', ')}: ${scenarios.map((s) => s.id).join(', ')}`)
const chosen = only ? scenarios.filter((s) => only.includes(s.id)) : scenarios
const redisUrl = process.env.RELIABILITY_REDIS_URL ?? DEFAULT_REDIS_URL

const workDir = mkdtempSync(join(tmpdir(), 'coinpipe-reliability-'))
const results: ScenarioResult[] = []
console.log(`reliability, profile ${profile}, seed ${seed} (rerun with --seed ${seed})\n`)
try {
  for (const dialect of dialects) {
    for (const scenario of chosen) {
      const server = await openServer(dialect)
      if (!server) {
        console.log(`${dialect}: not reachable, skipped`)
        break
      }
      const started = performance.now()
      try {
        results.push(...(await scenario.run({ server, profile, seed, workDir, redisUrl })))
      } finally {
        await server.dispose()
      }
      console.log(`  ${scenario.id} on ${dialect}: ${((performance.now() - started) / 1000).toFixed(1)} s`)
    }
  }
} finally {
  rmSync(workDir, { recursive: true, force: true })
}

console.log(`\n${formatTable(results)}`)
for (const r of results) console.log(`  ${r.scenario} on ${r.dialect}: ${r.detail}`)
writeFileSync('reliability-report.json', `${JSON.stringify({ profile, seed, results }, null, 2)}\n`)
const failures = results.flatMap((r) => r.failures.map((f) => `${r.scenario} on ${r.dialect}: ${f}`))
if (failures.length > 0) {
  console.error(`\nFAILED:\n${failures.map((f) => `  ${f}`).join('\n')}`)
  process.exit(1)
}

/** Every `scenarios/*.ts` file's default export, in file-name order. */
async function loadScenarios(): Promise<Scenario[]> {
  const dir = new URL('./scenarios/', import.meta.url)
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  const modules = await Promise.all(
    files.map((f) => import(new URL(f, dir).href) as Promise<{ default: Scenario }>),
  )
  return modules.map((m) => m.default)
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
