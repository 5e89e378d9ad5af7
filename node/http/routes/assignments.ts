import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { AssignmentId, ClaimInput, CompleteInput, FailInput, ProgressInput } from '../../services/assignments.js'
import type { ApiContext } from '../context.js'
import { parseInput } from '../validate.js'

const Params = z.object({ id: AssignmentId }).strict()
/** Why the task is given back (shown as the task's reason); optional. */
const ReleaseInput = z.object({ reason: z.string().min(1).max(2000).optional() }).strict().optional()

export function assignmentRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/assignments', async (req, reply) => {
    const a = await ctx.assignments.claim(parseInput(ClaimInput, req.body, 'body'))
    // 202: the claim is recorded but only confirmed once the cluster agrees (poll GET /api/assignments/:id).
    return await reply.status(202).send(a)
  })

  app.get('/api/assignments/:id', async (req) => ctx.assignments.get(parseInput(Params, req.params, 'path').id))

  app.put('/api/assignments/:id/progress', async (req) => {
    const { id } = parseInput(Params, req.params, 'path')
    return await ctx.assignments.progress(id, parseInput(ProgressInput, req.body, 'body'))
  })

  app.put('/api/assignments/:id/complete', async (req) => {
    const { id } = parseInput(Params, req.params, 'path')
    return await ctx.assignments.complete(id, parseInput(CompleteInput, req.body ?? {}, 'body'))
  })

  app.put('/api/assignments/:id/fail', async (req) => {
    const { id } = parseInput(Params, req.params, 'path')
    return await ctx.assignments.fail(id, parseInput(FailInput, req.body, 'body'))
  })

  app.put('/api/assignments/:id/release', async (req) => {
    const { id } = parseInput(Params, req.params, 'path')
    const body = parseInput(ReleaseInput, req.body ?? undefined, 'body')
    return await ctx.assignments.release(id, body?.reason)
  })
}
