import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { CompleteMergeInput, EnqueueInput } from '../../services/merge-queue.js'
import type { ApiContext } from '../context.js'
import { PageQuery } from '../../services/paging.js'
import { paged } from '../paging.js'
import { parseInput } from '../validate.js'

const Params = z.object({ id: z.string().min(1).max(128) }).strict()

export function mergeQueueRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/git/merge-queue', async (req, reply) => {
    const { entry, created } = await ctx.mergeQueue.enqueue(parseInput(EnqueueInput, req.body, 'body'))
    return await reply.status(created ? 201 : 200).send(entry)
  })

  app.get('/api/git/merge-queue', async (req, reply) => paged(reply, ctx.mergeQueue.listPage(parseInput(PageQuery.strict(), req.query, 'query'))))

  app.put('/api/git/merge-queue/:id/complete', async (req) => {
    const { id } = parseInput(Params, req.params, 'path')
    return await ctx.mergeQueue.complete(id, parseInput(CompleteMergeInput, req.body, 'body'))
  })
}
