import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { ApiContext } from '../context.js'
import { parseInput } from '../validate.js'

export const DEFAULT_LIST_LIMIT = 20
export const MAX_LIST_LIMIT = 1000

const ThroughputQuery = z.object({ bucket: z.enum(['hour', 'day']).default('hour') }).strict()
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT) }).strict()
const NoQuery = z.object({}).strict()

/**
 * Analytics and the forecast: read-only views derived from the document (see
 * node/services/analytics.ts), computed once per document version.
 */
export function analyticsRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/analytics/agents', async (req) => { parseInput(NoQuery, req.query, 'query'); return ctx.analytics.agents() })
  app.get('/api/analytics/roles', async (req) => { parseInput(NoQuery, req.query, 'query'); return ctx.analytics.roles() })
  app.get('/api/analytics/throughput', async (req) => ctx.analytics.throughput(parseInput(ThroughputQuery, req.query, 'query').bucket))
  app.get('/api/analytics/slowest', async (req) => ctx.analytics.slowest(parseInput(ListQuery, req.query, 'query').limit))
  app.get('/api/analytics/incidents', async (req) => ctx.analytics.incidents(parseInput(ListQuery, req.query, 'query').limit))
  app.get('/api/analytics/burndown', async (req) => { parseInput(NoQuery, req.query, 'query'); return ctx.analytics.burndown() })
  app.get('/api/progress/forecast', async (req) => { parseInput(NoQuery, req.query, 'query'); return ctx.analytics.forecast() })
}
