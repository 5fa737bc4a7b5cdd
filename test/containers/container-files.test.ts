import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, isAbsolute, join } from 'node:path'
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
import { environmentOf, interpolate, parseComposeFile } from '../helpers/compose-file.js'
import { argsOf, envOf, execForm, parseDockerfile, splitFlags } from '../helpers/dockerfile.js'
import { waitFor } from '../helpers/wait-for.js'

// No Docker engine here: these tests hold the container files against the code instead.

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8')
const CONFIG_VARIABLES = new Set(listConfigVariables())
/** The postgres image's own variables: only its service may set them. */
const POSTGRES_IMAGE_VARIABLE = /^POSTGRES_/
/** Names that hold a secret, whose value must come from the user and never from a default. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY|_KEYS$/
const PACKAGE = JSON.parse(read('package.json')) as {
  bin: Record<string, string>
  scripts: Record<string, string>
  engines: { node: string }
  dependencies: Record<string, string>
  allowScripts?: Record<string, boolean>
}

const stages = parseDockerfile(read('Dockerfile'))
const buildStage = stages[0]!
const runtime = stages.at(-1)!
const imageEnv = envOf(runtime)
const imageHealth = splitFlags(argsOf(runtime, 'HEALTHCHECK')[0] ?? '')
const healthCommand = execForm(imageHealth.rest.replace(/^CMD\s+/, ''))
const serveCommand = execForm(argsOf(runtime, 'CMD').at(-1) ?? '')

const compose = parseComposeFile(read('docker-compose.yml'))
const app = compose.services.coinpipe!
const postgres = compose.services.postgres!

/** What coinpipe's container sees: the image's ENV under compose's `environment:`, interpolated. */
function containerEnv(vars: Readonly<Record<string, string>>): Record<string, string> {
  const env = { ...imageEnv }
  for (const [name, value] of Object.entries(environmentOf(app))) env[name] = interpolate(value, vars)
  return env
}

/** The image's paths are relative to WORKDIR, which is laid out like the repository. */
function onHost(argv: readonly string[]): [string, string[]] {
  const [command, ...args] = argv
  const local = (arg: string) =>
    !isAbsolute(arg) && existsSync(join(REPO_ROOT, arg)) ? join(REPO_ROOT, arg) : arg
  return [command === 'node' ? process.execPath : command!, args.map(local)]
}

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

  it('starts `serve` of the package bin, in exec form', async () => {
    expect(serveCommand).toEqual(['node', PACKAGE.bin.coinpipe!.replace(/^\.\//, ''), 'serve'])
    const help = await runCli(['--help'], { cwd: tmpdir(), env: cliEnv({}) })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Commands:[\s\S]*^ {2}serve\b/m)
  })
})

describe('docker-compose.yml', () => {
  it('gives each service only variables it reads', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const names = Object.keys(environmentOf(service))
      if (service === postgres)
        expect(
          names.filter((n) => !POSTGRES_IMAGE_VARIABLE.test(n)),
          name,
        ).toEqual([])
      else
        expect(
          names.filter((n) => !CONFIG_VARIABLES.has(n)),
          name,
        ).toEqual([])
    }
    const referenced = Object.values(environmentOf(app)).flatMap((v) => [...v.matchAll(/\$\{?(\w+)/g)])
    const composeOnly = referenced.map((m) => m[1]!).filter((n) => !CONFIG_VARIABLES.has(n))
    expect([...new Set(composeOnly)]).toEqual(['POSTGRES_PASSWORD'])
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
    expect(() => containerEnv({})).toThrow(/set POSTGRES_PASSWORD in \.env/)
  })

  it('points coinpipe at the postgres service, in a form the config accepts', () => {
    const env = containerEnv({ POSTGRES_PASSWORD: 'only-in-this-test' })
    const config = loadConfig(env)
    expect(config.database.kind).toBe('postgres')
    const url = new URL(config.database.url)
    const pg = environmentOf(postgres)
    expect(compose.services).toHaveProperty(url.hostname)
    expect(url.hostname).toBe('postgres')
    expect([url.port, url.username, url.password, url.pathname]).toEqual([
      '5432',
      pg.POSTGRES_USER,
      'only-in-this-test',
      `/${pg.POSTGRES_DB}`,
    ])
    expect(config.http.host).toBe('0.0.0.0')
  })

  it('starts coinpipe once PostgreSQL is healthy, keeps both up, and lets coinpipe drain on stop', () => {
    expect(app.depends_on?.postgres?.condition).toBe('service_healthy')
    expect(postgres.healthcheck?.test).toContain('pg_isready')
    const volume = postgres.volumes?.[0]?.split(':')[0]
    expect(compose.volumes).toHaveProperty(volume!)
    expect([app.restart, postgres.restart]).toEqual(['unless-stopped', 'unless-stopped'])
    expect(app.stop_grace_period).toBe('30s')
    const context = typeof app.build === 'string' ? app.build : (app.build?.context ?? '.')
    expect(existsSync(join(REPO_ROOT, context, 'Dockerfile'))).toBe(true)
  })
})

describe('the port', () => {
  it('is the config default everywhere: image, compose, health checks and .env.example', () => {
    expect(DEFAULT_PORT).toBe('8080')
    const exposed = argsOf(runtime, 'EXPOSE').flatMap((args) => args.split(/\s+/))
    expect(exposed.map((p) => p.replace(/\/tcp$/, ''))).toEqual([DEFAULT_PORT])
    expect(imageEnv.PORT).toBe(DEFAULT_PORT)
    expect(containerEnv({ POSTGRES_PASSWORD: 'x' }).PORT).toBe(DEFAULT_PORT)
    expect(app.ports?.length).toBe(1)
    const [host, container] = interpolate(app.ports![0]!, {}).split(':')
    expect([host, container]).toEqual([DEFAULT_PORT, DEFAULT_PORT])
    // The health checks read PORT like the server; a port written into them must be the same one.
    const written = [...healthCommand, ...(app.healthcheck?.test ?? [])].join(' ').match(/:\d+\b/g) ?? []
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
    expect(app.healthcheck?.test).toEqual(['CMD', ...healthCommand])
    const { interval, timeout, start_period, retries } = app.healthcheck!
    expect({ interval, timeout, start_period, retries: String(retries) }).toEqual({
      interval: imageHealth.flags.interval,
      timeout: imageHealth.flags.timeout,
      start_period: imageHealth.flags['start-period'],
      retries: imageHealth.flags.retries,
    })
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
