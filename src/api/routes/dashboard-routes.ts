import { createHash } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import { DASHBOARD_HTML } from '../dashboard/dashboard-page.js'
import { contentSecurityPolicy, securityHeaders } from '../security.js'

/** CSP hashes of the page's inline scripts: exactly these may run, nothing injected beside them. */
export const DASHBOARD_SCRIPT_HASHES = [...DASHBOARD_HTML.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
  (match) => `'sha256-${createHash('sha256').update(match[1]!).digest('base64')}'`,
)

/** The site-wide policy plus the page's own inline scripts, by hash. */
const DASHBOARD_CSP = securityHeaders({
  contentSecurityPolicy: contentSecurityPolicy(DASHBOARD_SCRIPT_HASHES),
})['content-security-policy']!

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/',
    {
      schema: { hide: true },
    },
    (_request, reply) =>
      reply
        .header('content-security-policy', DASHBOARD_CSP)
        .type('text/html; charset=utf-8')
        .send(DASHBOARD_HTML),
  )
}
