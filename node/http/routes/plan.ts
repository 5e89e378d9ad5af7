import type { FastifyInstance } from 'fastify'
import { InvalidInputError } from '../../../crdt/errors.js'
import type { ApiContext } from '../context.js'

export function planRoutes (app: FastifyInstance, ctx: ApiContext): void {
  // The body stays bytes here: a plan of 100,000 tasks is tens of MB of JSON, and the service
  // parses and checks a large one in a worker thread (services/plan-preparer.ts), not on the loop.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => { done(null, body) })
    scope.post('/api/plan/import', async (req) => {
      if (!Buffer.isBuffer(req.body)) throw new InvalidInputError('invalid body: send the plan as JSON (content-type: application/json)', [{ path: '(body)', message: 'expected a JSON body' }])
      return await ctx.plans.importBody(req.body)
    })
  })
}
