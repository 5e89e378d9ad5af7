import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.js'
import { EmptyBody, parseInput } from '../validate.js'

export function progressRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/progress/overview', async () => ctx.progress.overview())

  app.post('/api/progress/snapshot', async (req, reply) => {
    parseInput(EmptyBody, req.body ?? undefined, 'body')
    return await reply.status(201).send(await ctx.progress.snapshot())
  })

  app.get('/api/progress/snapshots', async () => ctx.progress.snapshots())
}
