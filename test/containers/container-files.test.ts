import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { listConfigVariables, loadConfig } from '../../src/config.js'
import { startApi } from '../helpers/api-fixture.js'
import {
  cliEnv,
  killStartedProcesses,
  logLines,
  REPO_ROOT,
  runCli,
  startProcess,
  type ProcessResult,
} from '../helpers/cli.js'
import { environmentOf, interpolate, replicasOf } from '../helpers/compose-file.js'
import { argsOf, splitFlags } from '../helpers/dockerfile.js'
import { waitFor } from '../helpers/wait-for.js'
import {
  apis,
  app,
  buildStage,
  coinpipeServices,
  compose,
  containerEnv,
  healthCommand,
  imageEnv,
  imageHealth,
  onHost,
  PACKAGE,
  postgres,
  read,
  redis,
  runs,
  runtime,
  serveCommand,
  stages,
  workerCommand,
  workers,
} from './container-files.js'

// No Docker engine here: these tests hold the container files against the code instead.

const CONFIG_VARIABLES = new Set(listConfigVariables())
/** The postgres image's own variables: only its service may set them. */
const POSTGRES_IMAGE_VARIABLE = /^POSTGRES_/
/** Names that hold a secret, whose value must come from the user and never from a default. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY|_KEYS$/

/** Runs the image's HEALTHCHECK command here, in a folder without `.env`, with `env` over a clean one. */
function runHealthcheck(cwd: string, env: Record<string, string>): Promise<ProcessResult> {
  const [command, args] = onHost(healthCommand)
  return startProcess(command, args, { cwd, env: cliEnv(env) }).exited
}

const DEFAULT_PORT = String(loadConfig({}).http.port)

describe('the Dockerfile', () => {
  it('builds and runs on one Node major that package.json allows', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    const majors = new Set(stages.map((stage) => /^node:(\d+)-/.exec(stage.image)?.[1]))
    expect(majors.size).toBe(1)
    const major = Number([...majors][0])
    const [, min, max] = /^>=(\d+)\S*\s+<(\d+)$/.exec(PACKAGE.engines.node) ?? []
    expect(major).toBeGreaterThanOrEqual(Number(min))
    expect(major).toBeLessThan(Number(max))
  })

  it('installs from the lock file, builds, and ships production dependencies only', () => {
    const runs = argsOf(buildStage, 'RUN').join(' && ')
    expect(argsOf(buildStage, 'COPY').join(' ')).toContain('package-lock.json')
    expect(runs).toMatch(/\bnpm ci\b/)
    expect(runs.indexOf('npm run build')).toBeGreaterThan(-1)
    expect(runs.indexOf('npm prune --omit=dev')).toBeGreaterThan(runs.indexOf('npm run build'))
    for (const script of runs.matchAll(/\bnpm run ([\w:-]+)/g))
      expect(PACKAGE.scripts).toHaveProperty(script[1]!)
    if (/\bnpm ci\b[^&]*--ignore-scripts/.test(runs)) {
      // Every install script was skipped: each native dependency must be built on its own.
      const native = Object.keys(PACKAGE.allowScripts ?? {}).filter((name) => name in PACKAGE.dependencies)
      expect(native).not.toEqual([])
      for (const name of native) expect(runs).toMatch(new RegExp(`\\bnpm rebuild\\b[^&]*\\b${name}\\b`))
    }
    for (const run of argsOf(runtime, 'RUN').filter((r) => /\bnpm (ci|install|i)\b/.test(r)))
      expect(run).toContain('--omit=dev')
    const modules = argsOf(runtime, 'COPY').find((args) => /[\s/]node_modules\/?\s/.test(args))
    expect(modules && splitFlags(modules).flags.from).toBe(buildStage.name)
  })

  it('copies into the build stage every file the build script names', () => {
    const copied = argsOf(buildStage, 'COPY').flatMap((args) =>
      splitFlags(args).rest.split(/\s+/).slice(0, -1),
    )
    const named = [
      ...PACKAGE.scripts.build!.matchAll(/(?:^|\s)((?:scripts|src)\/[\w./-]+|tsconfig[\w.]*\.json)/g),
    ].map((m) => m[1]!)
    expect(named).toContain('scripts/bundle-cli.ts')
    for (const path of named)
      expect(
        copied.some((c) => path === c || path.startsWith(`${c}/`)),
        path,
      ).toBe(true)
  })

  it('copies into the runtime stage every file that its commands and the config need', () => {
    const workdir = argsOf(runtime, 'WORKDIR').at(-1)!
    const buildWorkdir = argsOf(buildStage, 'WORKDIR').at(-1)!
    const copied: string[] = []
    for (const args of argsOf(runtime, 'COPY')) {
      const { flags, rest } = splitFlags(args)
      const sources = rest.split(/\s+/)
      const target = sources.pop()!
      const dest = target.replace(/^\.\/?/, '').replace(/\/$/, '')
      for (const source of sources) {
        // A build-stage path is where the repository's files were in the build stage.
        if (flags.from !== undefined) expect(source.startsWith(`${buildWorkdir}/`), source).toBe(true)
        const local = flags.from === undefined ? source : source.slice(buildWorkdir.length + 1)
        expect(existsSync(join(REPO_ROOT, local)), `${local} (run npm run build)`).toBe(true)
        const intoFolder = target.endsWith('/') || target === '.'
        const isFile = !statSync(join(REPO_ROOT, local)).isDirectory()
        copied.push(intoFolder && isFile ? join(dest, basename(local)) : dest)
      }
    }
    expect(workdir).toBe(buildWorkdir)
    // package.json makes dist/ ESM; data/ holds the sample CSV and the default SQLite file.
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'node_modules', 'dist', 'data']))
    for (const path of [...serveCommand, ...healthCommand].filter((arg) => /\.[cm]?js$/.test(arg))) {
      expect(existsSync(join(REPO_ROOT, path)), `${path} (run npm run build)`).toBe(true)
      expect(
        copied.some((dest) => path === dest || path.startsWith(`${dest}/`)),
        path,
      ).toBe(true)
    }
  })

  it('runs as an unprivileged user who owns the data folder', () => {
    const user = argsOf(runtime, 'USER').at(-1)
    expect(user).toBeDefined()
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/)
    const data = argsOf(runtime, 'COPY').find((args) => /\sdata\s/.test(` ${args} `))
    expect(data && splitFlags(data).flags.chown).toBe(user)
  })

  it('sets only variables the config reads, and the config accepts them', () => {
    expect(Object.keys(imageEnv).filter((name) => !CONFIG_VARIABLES.has(name))).toEqual([])
    const config = loadConfig(imageEnv)
    expect(config.http.host).toBe('0.0.0.0')
    expect(config.database.kind).toBe('sqlite')
  })

  it('starts `serve` of the package bin, in exec form, and the bin has `worker` too', async () => {
    expect(serveCommand).toEqual(['node', PACKAGE.bin.coinpipe!.replace(/^\.\//, ''), 'serve'])
    const help = await runCli(['--help'], { cwd: tmpdir(), env: cliEnv({}) })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Commands:[\s\S]*^ {2}serve\b/m)
    expect(help.stdout).toMatch(/^Commands:[\s\S]*^ {2}worker\b/m)
  })
})

describe('docker-compose.yml', () => {
  it('runs the one image as two API replicas and at least two workers, and nothing else', () => {
    expect(apis.map(([name]) => name)).toHaveLength(2)
    expect(workers.reduce((sum, [, service]) => sum + replicasOf(service), 0)).toBeGreaterThanOrEqual(2)
    const other = coinpipeServices.filter(([, s]) => !runs(serveCommand)(s) && !runs(workerCommand)(s))
    expect(other.map(([name]) => name)).toEqual([])
    // One image name and one build: compose builds it once, and every container runs the same code.
    const images = new Set(coinpipeServices.map(([, s]) => `${s.image} ${JSON.stringify(s.build)}`))
    expect(images.size).toBe(1)
    expect(coinpipeServices[0]![1].image).toBeDefined()
    for (const [name, service] of coinpipeServices) {
      // Exec form: compose runs a list as it is; node gets SIGTERM, not a shell.
      if (service.command !== undefined) expect(Array.isArray(service.command), name).toBe(true)
      const context = typeof service.build === 'string' ? service.build : (service.build?.context ?? '.')
      expect(existsSync(join(REPO_ROOT, context, 'Dockerfile')), name).toBe(true)
    }
  })

  it('publishes each API replica on a host port of its own, and no worker at all', () => {
    const published = apis.map(([name, service]) => {
      expect(replicasOf(service), name).toBe(1)
      expect(service.ports, name).toHaveLength(1)
      return interpolate(service.ports![0]!, {}).split(':')
    })
    expect(published.map(([, container]) => container)).toEqual([DEFAULT_PORT, DEFAULT_PORT])
    const hostPorts = published.map(([host]) => host!)
    expect(hostPorts.every((port) => /^\d+$/.test(port))).toBe(true)
    expect(new Set(hostPorts).size).toBe(hostPorts.length)
    for (const [name, service] of [...workers, ['redis', redis] as const, ['postgres', postgres] as const])
      expect(service.ports ?? [], name).toEqual([])
  })

  it('gives each service only variables it reads', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const names = Object.keys(environmentOf(service))
      if (service === postgres)
        expect(
          names.filter((n) => !POSTGRES_IMAGE_VARIABLE.test(n)),
          name,
        ).toEqual([])
      else if (service.build === undefined) expect(names, name).toEqual([])
      else
        expect(
          names.filter((n) => !CONFIG_VARIABLES.has(n)),
          name,
        ).toEqual([])
    }
    for (const [name, service] of coinpipeServices) {
      const referenced = Object.values(environmentOf(service)).flatMap((v) => [...v.matchAll(/\$\{?(\w+)/g)])
      const composeOnly = referenced.map((m) => m[1]!).filter((n) => !CONFIG_VARIABLES.has(n))
      expect([...new Set(composeOnly)], name).toEqual(['POSTGRES_PASSWORD'])
    }
    // A worker serves no API: it has no use for the keys that guard its writes.
    for (const [name, service] of workers) expect(environmentOf(service), name).not.toHaveProperty('API_KEYS')
  })

  it('takes every secret from the user, with no default to fall back on', () => {
    const text = read('docker-compose.yml')
    for (const [, name, fallback] of text.matchAll(/\$\{(\w+):?-([^}]*)\}/g))
      if (SECRET_NAME.test(name!)) expect(fallback, name).toBe('')
    for (const service of Object.values(compose.services)) {
      for (const [name, value] of Object.entries(environmentOf(service))) {
        if (SECRET_NAME.test(name)) expect(value, name).toMatch(/^\$\{\w+(:?[-?][^}]*)?\}$/)
        const password = /:\/\/[^:/@]+:([^@]+)@/.exec(value)?.[1]
        if (password !== undefined) expect(password, name).toMatch(/^\$\{\w+(:\?[^}]*)?\}$/)
      }
    }
    expect(environmentOf(postgres).POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/)
    for (const [name, service] of coinpipeServices)
      expect(() => containerEnv({}, service), name).toThrow(/set POSTGRES_PASSWORD in \.env/)
  })

  it('points every coinpipe service at the postgres and redis services, in a form the config accepts', () => {
    const pg = environmentOf(postgres)
    for (const [name, service] of coinpipeServices) {
      const config = loadConfig(containerEnv({ POSTGRES_PASSWORD: 'only-in-this-test' }, service))
      expect(config.database.kind, name).toBe('postgres')
      const url = new URL(config.database.url)
      expect(compose.services).toHaveProperty(url.hostname)
      expect(url.hostname, name).toBe('postgres')
      expect([url.port, url.username, url.password, url.pathname], name).toEqual([
        '5432',
        pg.POSTGRES_USER,
        'only-in-this-test',
        `/${pg.POSTGRES_DB}`,
      ])
      // Queue mode, on the redis service's default port (its command does not move it).
      const redisUrl = new URL(config.redisUrl ?? 'unset:')
      expect([redisUrl.protocol, redisUrl.hostname, redisUrl.port || '6379'], name).toEqual([
        'redis:',
        'redis',
        '6379',
      ])
      expect(config.queue.prefix, name).toBe(loadConfig({}).queue.prefix)
    }
    expect(redis.image).toMatch(/^redis:7(\.|$)/)
    expect(JSON.stringify(redis.command ?? [])).not.toContain('--port')
    for (const [name, service] of apis)
      expect(loadConfig(containerEnv({ POSTGRES_PASSWORD: 'x' }, service)).http.host, name).toBe('0.0.0.0')
  })

  it('starts coinpipe once PostgreSQL and Redis are healthy, keeps all up, and lets coinpipe drain on stop', () => {
    for (const [name, service] of coinpipeServices) {
      expect(Object.keys(service.depends_on ?? {}).sort(), name).toEqual(['postgres', 'redis'])
      for (const dependency of Object.values(service.depends_on ?? {}))
        expect(dependency.condition, name).toBe('service_healthy')
      expect([service.init, service.stop_grace_period], name).toEqual([true, '30s'])
    }
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, name).toBe('unless-stopped')
      expect(service.healthcheck?.test[0], name).toMatch(/^CMD(-SHELL)?$/)
    }
    expect(postgres.healthcheck?.test).toContain('pg_isready')
    for (const service of [postgres, redis]) {
      const volume = service.volumes?.[0]?.split(':')[0]
      expect(compose.volumes).toHaveProperty(volume!)
    }
  })

  it('keeps the queue on a volume across Redis restarts, and never lets Redis evict a key of it', () => {
    const args = (Array.isArray(redis.command) ? redis.command : []).join(' ')
    expect(args).toMatch(/^redis-server\b/)
    expect(args).toMatch(/--appendonly yes\b/)
    expect(args).toMatch(/--maxmemory-policy noeviction\b/)
    // The official image's data folder, where the append-only file is written.
    expect(redis.volumes?.map((v) => v.split(':')[1])).toEqual(['/data'])
  })
})

describe('the port', () => {
  it('is the config default everywhere: image, compose, health checks and .env.example', () => {
    expect(DEFAULT_PORT).toBe('8080')
    const exposed = argsOf(runtime, 'EXPOSE').flatMap((args) => args.split(/\s+/))
    expect(exposed.map((p) => p.replace(/\/tcp$/, ''))).toEqual([DEFAULT_PORT])
    expect(imageEnv.PORT).toBe(DEFAULT_PORT)
    for (const [name, service] of apis)
      expect(containerEnv({ POSTGRES_PASSWORD: 'x' }, service).PORT, name).toBe(DEFAULT_PORT)
    expect(app.ports?.length).toBe(1)
    const [host, container] = interpolate(app.ports![0]!, {}).split(':')
    expect([host, container]).toEqual([DEFAULT_PORT, DEFAULT_PORT])
    expect(interpolate(app.ports![0]!, { PORT: '9000' }).split(':')[0]).toBe('9000')
    // The health checks read PORT like the server; a port written into them must be the same one.
    const checks = apis.flatMap(([, service]) => service.healthcheck?.test ?? [])
    const written = [...healthCommand, ...checks].join(' ').match(/:\d+\b/g) ?? []
    expect(written.filter((p) => p !== `:${DEFAULT_PORT}`)).toEqual([])
    expect(/^PORT=(.*)$/m.exec(read('.env.example'))?.[1]).toBe(DEFAULT_PORT)
  })
})

describe('the health check', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'coinpipe-health-'))
  })
  afterEach(async () => {
    await killStartedProcesses()
    rmSync(dir, { recursive: true, force: true })
  })

  it('is one command, at one pace, in the image, in compose and as an npm script', () => {
    // A worker runs the same check in its worker mode; it serves no /health.
    const checks = [
      ...apis.map(([name, service]) => [name, service, ['CMD', ...healthCommand]] as const),
      ...workers.map(([name, service]) => [name, service, ['CMD', ...healthCommand, 'worker']] as const),
    ]
    for (const [name, service, test] of checks) {
      expect(service.healthcheck?.test, name).toEqual(test)
      const { interval, timeout, start_period, retries } = service.healthcheck!
      expect({ interval, timeout, start_period, retries: String(retries) }, name).toEqual({
        interval: imageHealth.flags.interval,
        timeout: imageHealth.flags.timeout,
        start_period: imageHealth.flags['start-period'],
        retries: imageHealth.flags.retries,
      })
    }
    expect(checks.length).toBe(coinpipeServices.length)
    expect(PACKAGE.scripts.healthcheck).toBe(healthCommand.join(' '))
  })

  it('probes a route the app answers 200', async () => {
    const api = await startApi('sqlite')
    try {
      const response = await api.app.inject({ method: 'GET', url: '/health' })
      expect(response.statusCode).toBe(200)
      expect(response.json()).toMatchObject({ status: 'ok' })
    } finally {
      await api.close()
    }
  })

  it('asks GET /health on PORT, on loopback when HOST is a wildcard, and fails on a 503', async () => {
    const paths: string[] = []
    let status = 200
    const stub = createServer((request, response) => {
      paths.push(`${request.method} ${request.url}`)
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ status: status === 200 ? 'ok' : 'down' }))
    })
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve))
    try {
      const port = String((stub.address() as AddressInfo).port)
      const healthy = await runHealthcheck(dir, { ...imageEnv, PORT: port })
      expect(healthy.code, healthy.stderr).toBe(0)
      expect(paths).toEqual(['GET /health'])
      status = 503
      const down = await runHealthcheck(dir, { ...imageEnv, PORT: port })
      expect(down.code).toBe(1)
      expect(down.stderr).toContain('503')
    } finally {
      stub.close()
    }
  })

  it('passes against a running `serve` and fails once it is gone', async () => {
    const [command, args] = onHost(serveCommand)
    const server = startProcess(command, args, {
      cwd: dir,
      env: cliEnv({
        DATABASE_URL: `sqlite:${join(dir, 'coinpipe.db')}`,
        HOST: '127.0.0.1',
        PORT: '0',
        SOURCES: 'csv',
        ETL_SCHEDULE: 'off',
        ETL_RUN_ON_START: 'false',
        LOG_LEVEL: 'info',
      }),
    })
    const serving = await waitFor(
      () => {
        if (server.exitedYet()) throw new Error(`coinpipe serve exited early:\n${server.stderr()}`)
        return logLines(server.stdout()).find((line) => line.msg === 'coinpipe is serving')
      },
      { what: 'coinpipe serve to listen', timeoutMs: 30_000 },
    )
    const port = new URL(serving.url as string).port

    const healthy = await runHealthcheck(dir, { ...imageEnv, PORT: port })
    expect(healthy.code, healthy.stderr).toBe(0)
    expect(healthy.stdout).toContain(`:${port}/health answered 200`)

    await killStartedProcesses()
    const gone = await runHealthcheck(dir, { ...imageEnv, PORT: port })
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/unhealthy: .* did not answer/)
  }, 60_000)
})

describe('the Makefile', () => {
  const makefile = read('Makefile')
  const variables = Object.fromEntries(
    [...makefile.matchAll(/^(\w+)\s*[?:]?=\s*(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]),
  )
  const recipes = new Map<string, string[]>()
  let target: string | undefined
  for (const line of makefile.split('\n')) {
    const rule = /^([\w-]+):(?!=)/.exec(line)
    if (rule) recipes.set((target = rule[1]!), [])
    else if (line.startsWith('\t') && target !== undefined)
      recipes
        .get(target)!
        .push(line.slice(1).replace(/\$\((\w+)\)/g, (_, name: string) => variables[name] ?? ''))
    else if (line.trim() !== '' && !line.startsWith('#')) target = undefined
  }

  it('declares every target phony and indents recipes with tabs', () => {
    const phony = /^\.PHONY:(.*)$/m.exec(makefile)?.[1]?.trim().split(/\s+/)
    expect(new Set(phony)).toEqual(new Set(recipes.keys()))
    expect(makefile.split('\n').filter((line) => /^ +\S/.test(line))).toEqual([])
  })

  it('runs compose for up, down and logs, and npm scripts and files that exist', () => {
    expect(recipes.get('up')).toEqual(['docker compose up -d --build'])
    expect(recipes.get('down')).toEqual(['docker compose down'])
    expect(recipes.get('logs')).toEqual(['docker compose logs -f'])
    expect(recipes.get('test')).toEqual(['npm test'])
    const commands = [...recipes.values()].flat()
    for (const command of commands) {
      const script = /^npm (?:run )?([\w:-]+)/.exec(command)?.[1]
      if (script !== undefined && !['ci', 'install'].includes(script))
        expect(PACKAGE.scripts).toHaveProperty(script)
      const file = /^bash (\S+)/.exec(command)?.[1]
      if (file !== undefined) expect(existsSync(join(REPO_ROOT, file)), file).toBe(true)
    }
  })
})

describe('.env.example and .dockerignore', () => {
  it('leaves POSTGRES_PASSWORD and every other secret empty in .env.example', () => {
    const example = read('.env.example')
    expect(example).toMatch(/^#? ?POSTGRES_PASSWORD=$/m)
    const set = [...example.matchAll(/^(\w+)=(.*)$/gm)].map(([, name, value]) => ({ name: name!, value }))
    expect(set.filter(({ name, value }) => SECRET_NAME.test(name) && value !== '')).toEqual([])
    const unknown = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!)
    expect(unknown.filter((n) => !CONFIG_VARIABLES.has(n) && n !== 'POSTGRES_PASSWORD')).toEqual([])
  })

  it('keeps secrets, local databases and build output out of the build context', () => {
    const ignored = read('.dockerignore').split('\n')
    expect(ignored).toEqual(expect.arrayContaining(['.env', 'node_modules', 'dist', '.git', 'data/*.db']))
  })
})
