import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { IdSchema } from '../../../plan/schema.js'
import { EvidenceInput } from '../../services/evidence.js'
import type { ApiContext } from '../context.js'
import { parseInput } from '../validate.js'

const TaskParams = z.object({ taskId: IdSchema }).strict()
const Query = z.object({ includeFenced: z.enum(['true', 'false']).optional() }).strict()

export function evidenceRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/evidence', async (req, reply) => {
    const e = await ctx.evidence.add(parseInput(EvidenceInput, req.body, 'body'))
    return await reply.status(201).send(e)
  })

  app.get('/api/evidence/task/:taskId', async (req) => {
    const { taskId } = parseInput(TaskParams, req.params, 'path')
    const q = parseInput(Query, req.query, 'query')
    ctx.tasks.get(taskId)
    return ctx.evidence.forTask(taskId, { includeFenced: q.includeFenced === 'true' })
  })
}
