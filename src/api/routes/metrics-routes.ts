import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Metrics } from '../../metrics/metrics.js'

/** Prometheus scrape target; public like `/health` (it holds counts and timings, never data or keys). */
export function metricsRoutes(metrics: Metrics): FastifyPluginAsyncTypebox {
  // eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async by contract
  return async (app) => {
    app.get(
      '/metrics',
      {
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics in the text exposition format',
          produces: ['text/plain'],
          response: {
            200: {
              description: 'Every coinpipe_* series; see the README for names, labels and alerts',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      async (_request, reply) => {
        const text = await metrics.registry.metrics()
        return reply.type(metrics.registry.contentType).send(text)
      },
    )
  }
}
