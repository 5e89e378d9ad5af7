import type { FastifyInstance } from 'fastify'
import { PlanImportBody } from '../../services/plans.js'
import type { ApiContext } from '../context.js'
import { parseInput } from '../validate.js'

export function planRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/plan/import', async (req) => {
    const body = parseInput(PlanImportBody, req.body, 'body')
    return await ctx.plans.import(ctx.plans.parse(body))
  })
}
