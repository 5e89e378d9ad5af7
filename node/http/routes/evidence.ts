import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { IdSchema } from '../../../plan/schema.js'
import { EvidenceInput, MAX_RECENT_EVIDENCE } from '../../services/evidence.js'
import type { ApiContext } from '../context.js'
import { parseInput } from '../validate.js'

const TaskParams = z.object({ taskId: IdSchema }).strict()
const Query = z.object({ includeFenced: z.enum(['true', 'false']).optional() }).strict()
const RecentQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_RECENT_EVIDENCE).optional(),
  since: z.coerce.number().int().min(0).optional(),
  includeFenced: z.enum(['true', 'false']).optional()
}).strict()

export function evidenceRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/evidence', async (req, reply) => {
    const e = await ctx.evidence.add(parseInput(EvidenceInput, req.body, 'body'))
    return await reply.status(201).send(e)
  })

  /** The newest evidence of all tasks (the dashboard's panel): `limit` (default 20, max 200), `since` ms. */
  app.get('/api/evidence', async (req) => {
    const q = parseInput(RecentQuery, req.query, 'query')
    return ctx.evidence.recent({
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.since === undefined ? {} : { since: q.since }),
      includeFenced: q.includeFenced === 'true'
    })
  })

  app.get('/api/evidence/task/:taskId', async (req) => {
    const { taskId } = parseInput(TaskParams, req.params, 'path')
    const q = parseInput(Query, req.query, 'query')
    ctx.tasks.get(taskId)
    return ctx.evidence.forTask(taskId, { includeFenced: q.includeFenced === 'true' })
  })
}
