import type { FastifyInstance } from 'fastify'
import type { FleetMetrics } from '../../metrics/fleet-metrics.js'

/** The label for requests no route matched (raw URLs would make one series per probe). */
export const UNMATCHED_ROUTE = '(unmatched)'

/**
 * `GET /metrics` (Prometheus text) and the request-duration histogram, timed by an onResponse
 * hook. Long-lived streams (SSE, WebSocket) are hijacked replies and never reach onResponse, so
 * they do not skew the histogram. Register this module first so the hook sees every route.
 */
export function metricsRoutes (metrics: FleetMetrics): (app: FastifyInstance) => void {
  return (app) => {
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? UNMATCHED_ROUTE
      metrics.observeHttp(req.method, route, reply.statusCode, reply.elapsedTime / 1000)
    })

    app.get('/metrics', async (_req, reply) => {
      const body = await metrics.text()
      return await reply.header('content-type', metrics.contentType).send(body)
    })
  }
}
