import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The parts of a V8 `.cpuprofile` the summary reads. */
interface CpuProfile {
  nodes: {
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number }
    children?: number[]
  }[]
  samples: number[]
  timeDeltas: number[]
}

interface Frame {
  readonly name: string
  /** Path relative to the project, without `node_modules/`; `node:…` and `` kept as they are. */
  readonly path: string
  readonly line: number
}

export interface ProfileLine {
  readonly name: string
  readonly ms: number
}

export interface ProfileSummary {
  /** Sampled time the main thread was not idle (start-up included). */
  readonly busyMs: number
  /** Requests the server answered while profiled (warm-up included), to turn time into µs/request. */
  readonly requests: number
  /** Busy time by what the server was doing, in the order of `BUCKETS`. */
  readonly buckets: readonly ProfileLine[]
  /** Self time by function, largest first. */
  readonly selfByFunction: readonly ProfileLine[]
}

const STARTUP = 'start-up: module loading (not per request)'

const inPackage = (f: Frame, ...packages: string[]) => packages.some((p) => f.path.startsWith(`${p}/`))

/**
 * What a sample was spent on: the first bucket whose test matches a frame of its stack (leaf first).
 * A native call (SQLite's step, JSON.stringify) is billed by V8 to the JS function that made it.
 */
const BUCKETS: readonly { name: string; test: (f: Frame, leaf: boolean) => boolean }[] = [
  { name: 'garbage collection', test: (f) => f.name === '(garbage collector)' },
  {
    name: STARTUP,
    test: (f) => f.path.startsWith('node:internal/modules') || inPackage(f, 'tsx', 'esbuild'),
  },
  {
    name: 'SQLite: prepare a statement (per query)',
    test: (f) => f.name === 'prepare' && f.path === 'better-sqlite3/lib/methods/wrappers.js',
  },
  {
    name: 'SQLite: run the statement, build row objects (native)',
    test: (f, leaf) =>
      leaf &&
      ((f.name === 'executeQuery' && f.path.endsWith('sqlite/sqlite-driver.js')) ||
        f.path === 'bench/api-baseline.ts'),
  },
  {
    name: 'coinpipe pg type parsers (src/db/dialects/postgres.ts)',
    test: (f) => f.path.endsWith('postgres.ts'),
  },
  {
    name: 'pg driver: protocol, rows, type parsers',
    test: (f) => inPackage(f, 'pg', 'pg-protocol', 'pg-types', 'pg-pool', 'postgres-date', 'pg-int8'),
  },
  {
    name: 'response serialization (+ Buffer.byteLength)',
    test: (f) =>
      (f.name === 'serialize' && f.path === 'fastify/lib/reply.js') ||
      (f.name === 'byteLength' && f.path === 'node:buffer') ||
      inPackage(f, 'fast-json-stringify'),
  },
  {
    name: 'Kysely: build, compile, plugins, result mapping',
    test: (f) => inPackage(f, 'kysely') || f.path.startsWith('src/db/'),
  },
  {
    name: 'socket write',
    test: (f) => f.path === 'node:net' || f.path === 'node:internal/stream_base_commons',
  },
  { name: 'querystring validation (ajv)', test: (f) => f.path === 'fastify/lib/validation.js' },
  { name: 'logging (pino)', test: (f) => inPackage(f, 'pino', '@pinojs') },
  { name: 'coinpipe route code and hooks (src/api)', test: (f) => f.path.startsWith('src/api/') },
  { name: 'HTTP parsing, Fastify routing, the rest', test: () => true },
]

const IDLE = new Set(['(idle)', '(root)'])

/** Where a server's busy time went, from the main thread's CPU profile. */
export function summarizeProfile(path: string, root: string, requests: number, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const frames = new Map(
    profile.nodes.map((n) => {
      const { functionName, url, lineNumber } = n.callFrame
      return [n.id, { name: functionName || '(anonymous)', path: shortPath(url, root), line: lineNumber + 1 }]
    }),
  )
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const buckets = new Map(BUCKETS.map((b) => [b.name, 0]))
  const self = new Map<string, number>()
  let busyUs = 0
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0
    const leaf = frames.get(id)
    if (!leaf || IDLE.has(leaf.name)) return
    busyUs += us
    const where = leaf.path === '' ? '' : ` ${leaf.path}:${leaf.line}`
    self.set(`${leaf.name}${where}`, (self.get(`${leaf.name}${where}`) ?? 0) + us)
    const stack: Frame[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(frames.get(at)!)
    const bucket = BUCKETS.find((b) => stack.some((f, depth) => b.test(f, depth === 0)))!
    buckets.set(bucket.name, buckets.get(bucket.name)! + us)
  })
  return {
    busyMs: busyUs / 1000,
    requests,
    buckets: [...buckets].map(([name, us]) => ({ name, ms: us / 1000 })),
    selfByFunction: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000 })),
  }
}

function shortPath(url: string, root: string): string {
  if (!url.startsWith('file://')) return url
  const path = relative(root, fileURLToPath(url))
  const inModules = path.lastIndexOf('node_modules/')
  return inModules >= 0 ? path.slice(inModules + 'node_modules/'.length) : path
}

const perRequest = (s: ProfileSummary, ms: number) => (s.requests > 0 ? (ms * 1000) / s.requests : 0)

/** Busy time per request by bucket, coinpipe beside the bare route, then coinpipe's hottest functions. */
export function formatProfiles(title: string, coinpipe: ProfileSummary, bare: ProfileSummary): string {
  const bareBy = new Map(bare.buckets.map((b) => [b.name, b.ms]))
  const width = Math.max(...coinpipe.buckets.map((b) => b.name.length))
  const us = (n: number) => n.toFixed(0).padStart(9)
  const rows = coinpipe.buckets
    .map((b) => ({
      name: b.name,
      ours: perRequest(coinpipe, b.ms),
      theirs: perRequest(bare, bareBy.get(b.name)!),
    }))
    .filter((r) => r.ours >= 0.5 || r.theirs >= 0.5)
  const serving = (p: ProfileSummary) => p.busyMs - (p.buckets.find((b) => b.name === STARTUP)?.ms ?? 0)
  const total = { ours: perRequest(coinpipe, serving(coinpipe)), theirs: perRequest(bare, serving(bare)) }
  return [
    `${title}: CPU time of the server's main thread per request answered (start-up in its own row; ` +
      `${coinpipe.requests.toLocaleString('en-US')} coinpipe and ${bare.requests.toLocaleString('en-US')} bare requests)`,
    `  ${'µs per request'.padEnd(width)}  coinpipe       bare  coinpipe − bare`,
    ...rows.map((r) => `  ${r.name.padEnd(width)}  ${us(r.ours)}  ${us(r.theirs)}  ${us(r.ours - r.theirs)}`),
    `  ${'total busy, start-up left out'.padEnd(width)}  ${us(total.ours)}  ${us(total.theirs)}  ${us(total.ours - total.theirs)}`,
    `  coinpipe's hottest functions (self time, µs per request)`,
    ...coinpipe.selfByFunction.map((l) => `    ${us(perRequest(coinpipe, l.ms))}  ${l.name}`),
  ].join('\n')
}
