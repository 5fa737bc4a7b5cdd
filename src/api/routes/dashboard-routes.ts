import { createHash } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import { DASHBOARD_HTML } from '../dashboard/dashboard-page.js'
import { contentSecurityPolicy } from '../security.js'

/** CSP hashes of the page's inline scripts: exactly these may run, nothing injected beside them. */
export const DASHBOARD_SCRIPT_HASHES = [...DASHBOARD_HTML.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
  (match) => `'sha256-${createHash('sha256').update(match[1]!).digest('base64')}'`,
)

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/',
    {
      schema: { hide: true },
      helmet: { contentSecurityPolicy: contentSecurityPolicy(DASHBOARD_SCRIPT_HASHES) },
    },
    (_request, reply) => reply.type('text/html; charset=utf-8').send(DASHBOARD_HTML),
  )
}
