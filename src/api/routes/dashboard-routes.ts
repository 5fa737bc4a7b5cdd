import type { FastifyPluginAsync } from 'fastify'
import { DASHBOARD_HTML } from '../dashboard/dashboard-page.js'

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(DASHBOARD_HTML),
  )
}
