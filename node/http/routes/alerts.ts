import type { FastifyInstance } from 'fastify'
import type { AlertService } from '../../alerts/service.js'

/** `GET /api/alerts`: `{active, recent}` from the replicated alert records (the same on every node). */
export function alertRoutes (alerts: AlertService): (app: FastifyInstance) => void {
  return (app) => {
    app.get('/api/alerts', async () => alerts.list())
  }
}
