import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.js'

export function healthRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/health', async () => {
    const { leader, term } = ctx.leader.current()
    return {
      status: 'healthy',
      peerId: ctx.peerId,
      multiaddrs: ctx.multiaddrs(),
      peers: ctx.replicator.connectedPeers().length,
      heads: ctx.store.heads(),
      leader,
      term,
      uptimeMs: Date.now() - ctx.startedAt
    }
  })
}
