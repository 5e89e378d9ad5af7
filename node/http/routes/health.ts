import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.js'
import { bootstrapDialViews } from './peers.js'

/** Why a node is degraded: serving reads, but something needs an operator. */
export interface HealthProblem {
  code: string
  message: string
  since: number
}

export function healthRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/health', async () => {
    const { leader, term } = ctx.leader.current()
    const problems: HealthProblem[] = []
    const storage = ctx.store.storageHealth().failure
    if (storage !== null) problems.push({ code: storage.code, message: storage.message, since: storage.since })
    return {
      status: problems.length === 0 ? 'healthy' : 'degraded',
      problems,
      peerId: ctx.peerId,
      multiaddrs: ctx.multiaddrs(),
      peers: ctx.replicator.connectedPeers().length,
      bootstrap: bootstrapDialViews(ctx.dialStatus()),
      heads: ctx.store.heads(),
      leader,
      term,
      uptimeMs: Date.now() - ctx.startedAt,
      /** Agents outside the node heartbeat well within it. */
      leaseMs: ctx.settings.leaseMs
    }
  })
}
