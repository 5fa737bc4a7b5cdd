import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/cli.js'
import { environmentOf, interpolate, parseComposeFile, type ComposeService } from '../helpers/compose-file.js'
import { argsOf, commandOnHost, envOf, execForm, parseDockerfile, splitFlags } from '../helpers/dockerfile.js'

// The repository's container files, read once and named by role for the tests that hold them
// against the code (there is no Docker engine here).

export const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8')

export const PACKAGE = JSON.parse(read('package.json')) as {
  bin: Record<string, string>
  scripts: Record<string, string>
  engines: { node: string }
  dependencies: Record<string, string>
  allowScripts?: Record<string, boolean>
}

export const stages = parseDockerfile(read('Dockerfile'))
export const buildStage = stages[0]!
export const runtime = stages.at(-1)!
export const imageEnv = envOf(runtime)
export const imageHealth = splitFlags(argsOf(runtime, 'HEALTHCHECK')[0] ?? '')
/** The image's HEALTHCHECK: the check of `serve`. */
export const healthCommand = execForm(imageHealth.rest.replace(/^CMD\s+/, ''))
/** The image's CMD. */
export const serveCommand = execForm(argsOf(runtime, 'CMD').at(-1) ?? '')
export const workerCommand = ['node', PACKAGE.bin.coinpipe!.replace(/^\.\//, ''), 'worker']

export const compose = parseComposeFile(read('docker-compose.yml'))
export const postgres = compose.services.postgres ?? {}
export const redis = compose.services.redis ?? {}
/** The services that run coinpipe's image: the ones built from this repository. */
export const coinpipeServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined)

/** Whether a service runs `argv`: its `command`, else the image's CMD. */
export const runs = (argv: readonly string[]) => (service: ComposeService) =>
  JSON.stringify(service.command ?? serveCommand) === JSON.stringify(argv)
export const apis = coinpipeServices.filter(([, service]) => runs(serveCommand)(service))
export const workers = coinpipeServices.filter(([, service]) => runs(workerCommand)(service))
/** The API replica whose host port follows PORT, as the single coinpipe service's did. */
export const app = apis.find(([, service]) => service.ports?.some((p) => p.startsWith('${PORT')))?.[1] ?? {}
export const worker = workers[0]?.[1] ?? {}

/** What a coinpipe container sees: the image's ENV under compose's `environment:`, interpolated. */
export function containerEnv(vars: Readonly<Record<string, string>>, service = app): Record<string, string> {
  const env = { ...imageEnv }
  for (const [name, value] of Object.entries(environmentOf(service))) env[name] = interpolate(value, vars)
  return env
}

/** An image command (exec form) as it runs here, from the repository. */
export const onHost = (argv: readonly string[]) => commandOnHost(argv, REPO_ROOT)
