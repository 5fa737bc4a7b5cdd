/** The dashboard's addresses: everything after `#`, so the server serves one page for all of them. */
export type Route =
  | { view: 'overview' }
  | { view: 'asset'; id: string }
  | { view: 'runs' }
  | { view: 'run'; id: number }
  | { view: 'compare'; base: number | undefined; head: number | undefined }
  | { view: 'quality' }
  | { view: 'not-found'; path: string }

export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#/, '')
  const [path = '', search = ''] = text.split('?', 2)
  const parts = path.split('/').filter((p) => p !== '')
  const params = new URLSearchParams(search)
  const [first, second, ...rest] = parts
  if (first === undefined) return { view: 'overview' }
  if (first === 'quality' && second === undefined) return { view: 'quality' }
  if (first === 'assets' && second !== undefined && rest.length === 0)
    return { view: 'asset', id: decodeURIComponent(second) }
  if (first === 'runs' && rest.length === 0) {
    if (second === undefined) return { view: 'runs' }
    if (second === 'compare')
      return { view: 'compare', base: runId(params.get('base')), head: runId(params.get('head')) }
    const id = runId(second)
    if (id !== undefined) return { view: 'run', id }
  }
  return { view: 'not-found', path }
}

function runId(text: string | null): number | undefined {
  if (text === null || !/^[1-9]\d{0,15}$/.test(text)) return undefined
  return Number(text)
}

export const href = {
  overview: () => '#/',
  asset: (id: string) => `#/assets/${encodeURIComponent(id)}`,
  runs: () => '#/runs',
  run: (id: number) => `#/runs/${id}`,
  compare: (base: number, head: number) => `#/runs/compare?base=${base}&head=${head}`,
  quality: () => '#/quality',
}
