/**
 * The dashboard's only door to the API: same-origin GETs with the session's API key, answers parsed
 * as JSON, and failures turned into an {@link ApiError} that carries the problem document's `detail`.
 */

const KEY_STORAGE = 'coinpipe.apiKey'

/** Public whatever API_READ_KEYS_REQUIRED says. */
const PUBLIC_PATHS = ['/health']

/**
 * Set by a 401: until the key changes, reads fail at once instead of asking again every 10 s and
 * filling the console with refusals.
 */
let refusal: ApiError | undefined

/** A request that failed: `status` 0 when the API did not answer at all. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail)
  }
}

/** The key pasted in this tab: sessionStorage only, so it never outlives the tab nor lands in a URL. */
export function readApiKey(): string | undefined {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? undefined
  } catch {
    return undefined
  }
}

export function saveApiKey(key: string): void {
  sessionStorage.setItem(KEY_STORAGE, key)
  refusal = undefined
}

export function forgetApiKey(): void {
  sessionStorage.removeItem(KEY_STORAGE)
  refusal = undefined
}

const unauthorizedListeners = new Set<(detail: string) => void>()

/** Called whenever a read answers 401 (or 403 for a missing scope), so the key form can ask for a key. */
export function onUnauthorized(listener: (detail: string) => void): void {
  unauthorizedListeners.add(listener)
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError'
}

/**
 * GETs `path` and parses its JSON. `acceptStatuses` lists error statuses whose body is still the
 * answer (`/health` answers 503 with a full health document when the database is down).
 */
export async function fetchJson<T>(
  path: string,
  signal?: AbortSignal,
  acceptStatuses: readonly number[] = [],
): Promise<T> {
  if (refusal && !PUBLIC_PATHS.includes(path)) throw refusal
  const headers: Record<string, string> = { accept: 'application/json' }
  const key = readApiKey()
  if (key) headers.authorization = `Bearer ${key}`
  let response: Response
  try {
    response = await fetch(path, { headers, signal, cache: 'no-store' })
  } catch (error) {
    if (isAbort(error)) throw error
    throw new ApiError(0, 'NETWORK', 'the API did not answer; is coinpipe running?')
  }
  const body: unknown = await response.json().catch(() => undefined)
  if (response.ok || acceptStatuses.includes(response.status)) {
    if (body === undefined) throw new ApiError(response.status, 'BAD_BODY', `${path} did not answer JSON`)
    return body as T
  }
  const problem = (body ?? {}) as { detail?: unknown; code?: unknown }
  const detail =
    typeof problem.detail === 'string' ? problem.detail : `${path} answered HTTP ${response.status}`
  const code = typeof problem.code === 'string' ? problem.code : `HTTP_${response.status}`
  const error = new ApiError(response.status, code, detail)
  // A key or token without the `read` scope is refused as surely as a wrong one.
  if (response.status === 401 || code === 'INSUFFICIENT_SCOPE') {
    refusal = error
    for (const listener of unauthorizedListeners) listener(detail)
  }
  throw error
}

/**
 * One refresh of the page: every panel asking for the same path in it shares one request, so the
 * header's health pill and the overview read `/health` once per tick.
 */
export class Tick {
  private readonly cache = new Map<string, Promise<unknown>>()
  constructor(readonly signal: AbortSignal) {}

  get<T>(path: string, acceptStatuses: readonly number[] = []): Promise<T> {
    let pending = this.cache.get(path)
    if (!pending) {
      pending = fetchJson<T>(path, this.signal, acceptStatuses)
      this.cache.set(path, pending)
    }
    return pending as Promise<T>
  }
}

/** A query string from the defined values, `?` included when there is any. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, String(value))
  const text = search.toString()
  return text ? `?${text}` : ''
}
