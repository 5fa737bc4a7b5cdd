import { parse } from 'yaml'

export interface ComposeService {
  image?: string
  build?: string | { context?: string }
  /** A list is exec form; a string compose splits like a shell would, without running one. */
  command?: string[] | string
  environment?: Record<string, string | number | boolean | null> | string[]
  ports?: string[]
  deploy?: { replicas?: number }
  init?: boolean
  healthcheck?: {
    test: string[]
    interval?: string
    timeout?: string
    start_period?: string
    retries?: number
  }
  depends_on?: Record<string, { condition?: string }>
  restart?: string
  stop_grace_period?: string
  volumes?: string[]
}

export interface ComposeFile {
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
}

/**
 * A docker-compose.yml as written: `${…}` left for `interpolate`, YAML merge keys (`<<: *anchor`)
 * applied as compose applies them, `x-` extension fields kept out of `services`.
 */
export function parseComposeFile(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile
}

/** A service's `environment:`, map or list form, values as written (before interpolation). */
export function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {}
  if (Array.isArray(env))
    return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.split('=').slice(1).join('=')]))
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]))
}

/** Compose interpolation: `${V}`, `${V:-default}`, `${V-default}`, `${V:?error}`, `${V?error}`, `$V`, `$$`. */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\$|\$\{(\w+)(?:(:?)([-?])([^}]*))?\}|\$(\w+)/g,
    (all: string, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
      if (all === '$$') return '$'
      const value = vars[(name ?? bare)!]
      if (value !== undefined && !(colon === ':' && value === '')) return value
      if (op === '?') throw new Error(arg || `${name} is required`)
      return op === '-' ? (arg ?? '') : ''
    },
  )
}

/** The containers `docker compose up` starts for a service. */
export function replicasOf(service: ComposeService): number {
  return service.deploy?.replicas ?? 1
}
