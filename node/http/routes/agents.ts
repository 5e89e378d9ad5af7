import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { IdSchema } from '../../../plan/schema.js'
import { HeartbeatInput, RegisterAgentInput } from '../../services/agents.js'
import type { ApiContext } from '../context.js'
import { EmptyBody, parseInput } from '../validate.js'

const AgentParams = z.object({ id: IdSchema }).strict()

export function agentRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/agents', async () => ctx.agents.list())

  app.post('/api/agents', async (req, reply) => {
    const agent = await ctx.agents.register(parseInput(RegisterAgentInput, req.body, 'body'))
    return await reply.status(201).send(agent)
  })

  app.get('/api/agents/:id', async (req) => ctx.agents.get(parseInput(AgentParams, req.params, 'path').id))

  app.put('/api/agents/:id/heartbeat', async (req) => {
    const { id } = parseInput(AgentParams, req.params, 'path')
    return ctx.agents.beat(id, parseInput(HeartbeatInput, req.body ?? {}, 'body'))
  })

  // Cluster token only (agent tokens get 403): every agent token of the agent issued until now stops working.
  app.post('/api/agents/:id/revoke-tokens', async (req) => {
    const { id } = parseInput(AgentParams, req.params, 'path')
    parseInput(EmptyBody, req.body ?? undefined, 'body')
    return await ctx.agents.revokeTokens(id)
  })

  app.get('/api/agents/:id/assignments', async (req) => {
    const { id } = parseInput(AgentParams, req.params, 'path')
    ctx.agents.get(id)
    return ctx.assignments.forAgent(id)
  })

  app.get('/api/progress/agents/:id', async (req) => ctx.progress.agent(parseInput(AgentParams, req.params, 'path').id))
}
