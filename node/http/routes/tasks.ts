import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { IdSchema } from '../../../plan/schema.js'
import { AvailableQuery, CreateTaskInput, TaskFilter, UpdateTaskInput } from '../../services/tasks.js'
import { paged } from '../paging.js'
import type { ApiContext } from '../context.js'
import { EmptyBody, parseInput } from '../validate.js'

const TaskParams = z.object({ id: IdSchema }).strict()

export function taskRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/tasks', async (req, reply) => paged(reply, ctx.tasks.listPage(parseInput(TaskFilter, req.query, 'query'))))

  app.get('/api/tasks/available', async (req, reply) => paged(reply, ctx.tasks.availablePage(parseInput(AvailableQuery, req.query, 'query'))))

  app.get('/api/tasks/:id', async (req) => ctx.tasks.get(parseInput(TaskParams, req.params, 'path').id))

  app.post('/api/tasks', async (req, reply) => {
    const task = await ctx.tasks.create(parseInput(CreateTaskInput, req.body, 'body'))
    return await reply.status(201).send(task)
  })

  app.put('/api/tasks/:id', async (req) => {
    const { id } = parseInput(TaskParams, req.params, 'path')
    return await ctx.tasks.update(id, parseInput(UpdateTaskInput, req.body, 'body'))
  })

  app.post('/api/tasks/:id/retry', async (req) => {
    const { id } = parseInput(TaskParams, req.params, 'path')
    parseInput(EmptyBody, req.body ?? undefined, 'body')
    return await ctx.tasks.retry(id)
  })
}
