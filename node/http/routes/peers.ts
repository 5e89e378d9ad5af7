import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.js'

export function peerRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/peers', async () => {
    const ours = ctx.store.heads().join()
    return ctx.replicator.peers.connected().map((p) => ({
      peerId: p.nodeId,
      heads: p.heads,
      inSync: p.heads.join() === ours,
      lastSeenAt: p.lastSeenAt,
      http: p.http,
      addrs: p.addrs
    }))
  })
}
