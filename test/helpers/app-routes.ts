import type { App } from '../../src/api/build-app.js'

/** One route of a built app, with what its OpenAPI operation declares (nothing for hidden routes). */
export interface AppRoute {
  readonly method: string
  /** As registered: `/api/v1/records/:id`, `/docs/*`. */
  readonly path: string
  /** `:name` segments, plus `*` for a wildcard. */
  readonly pathParams: readonly string[]
  /** Query parameters the OpenAPI operation declares, by name, with their JSON schemas. */
  readonly queryParams: Readonly<Record<string, JsonSchema>>
  readonly queryRequired: readonly string[]
  /** Properties of a JSON request body, when the operation declares one. */
  readonly bodyProperties: Readonly<Record<string, JsonSchema>>
  readonly bodyRequired: readonly string[]
  readonly documented: boolean
}

export type JsonSchema = Readonly<Record<string, unknown>>

interface OpenApiOperation {
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[]
  requestBody?: {
    content?: Record<string, { schema?: { properties?: Record<string, JsonSchema>; required?: string[] } }>
  }
}

/**
 * Every route the app serves, HEAD aside (Fastify derives it from GET): read from the router's own
 * listing, so routes added later are found without touching the tests, and joined with the OpenAPI
 * document for their parameter names.
 */
export function listAppRoutes(app: App): AppRoute[] {
  const document = app.swagger() as { paths?: Record<string, Record<string, OpenApiOperation>> }
  const routes: AppRoute[] = []
  for (const { method, path } of parseRouteTree(app.printRoutes({ commonPrefix: false }))) {
    if (method === 'HEAD') continue
    const operation = document.paths?.[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()]
    const parameters = operation?.parameters ?? []
    const body = operation?.requestBody?.content?.['application/json']?.schema
    routes.push({
      method,
      path,
      pathParams: [...path.matchAll(/:(\w+)|\*/g)].map((m) => m[1] ?? '*'),
      queryParams: Object.fromEntries(
        parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema ?? {}]),
      ),
      queryRequired: parameters.filter((p) => p.in === 'query' && p.required).map((p) => p.name),
      bodyProperties: body?.properties ?? {},
      bodyRequired: body?.required ?? [],
      documented: operation !== undefined,
    })
  }
  return routes
}

/** `printRoutes({ commonPrefix: false })` text → method and full path per route. */
export function parseRouteTree(text: string): { method: string; path: string }[] {
  const prefixes: string[] = []
  const routes: { method: string; path: string }[] = []
  for (const line of text.split('\n')) {
    const branch = /^([\s│]*)[├└]── (.*)$/.exec(line)
    if (!branch) continue
    const depth = branch[1]!.length / 4
    const node = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(branch[2]!)!
    const path = (depth === 0 ? '' : (prefixes[depth - 1] ?? '')) + node[1]!
    prefixes[depth] = path
    prefixes.length = depth + 1
    for (const method of node[2]?.split(', ') ?? []) routes.push({ method, path })
  }
  return routes
}
