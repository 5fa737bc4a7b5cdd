import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { PACKAGE_ROOT } from '../../config.js'
import { sendProblem } from '../error-handler.js'

/** Where `npm run build` puts the dashboard (scripts/build-dashboard.ts). */
export const DASHBOARD_DIR = join(PACKAGE_ROOT, 'dist', 'dashboard')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
}

interface StaticFile {
  readonly type: string
  readonly body: Buffer
  readonly gzipped: Buffer
  readonly etag: string
}

/** The built files, read and gzipped once: a few hundred KB at most. */
function loadFiles(dir: string, names: readonly string[]): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  for (const name of names) {
    const path = join(dir, name)
    if (!existsSync(path)) continue
    const body = readFileSync(path)
    const extension = name.slice(name.lastIndexOf('.'))
    files.set(name, {
      type: TYPES[extension] ?? 'application/octet-stream',
      body,
      gzipped: gzipSync(body),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    })
  }
  return files
}

/** Sends `file`, gzipped when the client takes it; 304 when the client's copy is current. */
function sendFile(request: FastifyRequest, reply: FastifyReply, file: StaticFile) {
  // no-cache: kept, but checked on each load, so a new build is seen at once (a 304 costs ~nothing).
  void reply.header('cache-control', 'no-cache').header('etag', file.etag).header('vary', 'accept-encoding')
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send()
  void reply.type(file.type)
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? ''))
    return reply.header('content-encoding', 'gzip').send(file.gzipped)
  return reply.send(file.body)
}

/**
 * The dashboard: its HTML shell at `/` and its script and stylesheet under `/dashboard/`, all from
 * this origin, so the site-wide CSP (scripts from 'self' only) holds without exceptions.
 */
export function dashboardRoutes(dir = DASHBOARD_DIR): FastifyPluginAsync {
  const files = loadFiles(dir, [
    'index.html',
    'app.js',
    'app.css',
    'app.js.map',
    'app.css.map',
    'app.js.LEGAL.txt',
  ])
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get('/', { schema: { hide: true } }, (request, reply) => {
      const page = files.get('index.html')
      if (!page)
        return sendProblem(
          reply,
          503,
          'DASHBOARD_NOT_BUILT',
          `the dashboard is not built in ${dir}: run \`npm run build\`; the API itself answers under /api/v1 and /docs`,
        )
      return sendFile(request, reply, page)
    })
    app.get<{ Params: { file: string } }>(
      '/dashboard/:file',
      { schema: { hide: true } },
      (request, reply) => {
        const file = files.get(request.params.file)
        if (!file || request.params.file === 'index.html')
          return sendProblem(reply, 404, 'NOT_FOUND', `no dashboard file ${request.params.file}`)
        return sendFile(request, reply, file)
      },
    )
  }
}
