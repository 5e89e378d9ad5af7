import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { CreateTaskInput } from '../../services/tasks.js'
import type { ApiContext } from '../context.js'
import { parseInput } from '../validate.js'

const TaskParams = z.object({ id: z.string().min(1).max(64) })

export function taskRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/tasks', async () => ctx.tasks.list())

  app.get('/api/tasks/:id', async (req) => {
    const { id } = parseInput(TaskParams, req.params, 'path')
    return ctx.tasks.get(id)
  })

  app.post('/api/tasks', async (req, reply) => {
    const input = parseInput(CreateTaskInput, req.body, 'body')
    const task = await ctx.tasks.create(input)
    return reply.status(201).send(task)
  })
}
