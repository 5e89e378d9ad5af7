import type { FastifyInstance } from 'fastify'
import type { DialTargetStatus } from '../../../bootstrap/dialer.js'
import { lastSeen } from '../../net/peer-table.js'
import type { ApiContext } from '../context.js'

/** One bootstrap peer as /health and /api/peers show it: why this node is (not) connected to it. */
export interface BootstrapDialView {
  peerId: string
  addrs: string[]
  state: 'connected' | 'dialing' | 'retrying'
  /** Every dial has failed since then (null while connected). */
  retryingSince: number | null
  failures: number
  lastError: string | null
  /** When the next dial starts (null while connected). */
  nextAttemptAt: number | null
}

/** The bootstrap entries of the dialer's targets (a handful: the configured list). */
export function bootstrapDialViews (targets: DialTargetStatus[]): BootstrapDialView[] {
  return targets.filter(t => t.bootstrap).map(t => ({
    peerId: t.peerId,
    addrs: t.addrs,
    state: t.connected ? 'connected' : t.dialing ? 'dialing' : 'retrying',
    retryingSince: t.connected ? null : t.retryingSince,
    failures: t.failures,
    lastError: t.connected ? null : t.lastError,
    nextAttemptAt: t.connected || t.dialing ? null : t.nextAttemptAt
  }))
}

/**
 * `GET /api/peers`: the connected peers (`peers`) and the dial state of every bootstrap peer
 * (`bootstrap`), so "why is this node alone" has an answer.
 */
export function peerRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/peers', async () => {
    const ours = ctx.store.heads().join()
    const bootstrap = bootstrapDialViews(ctx.dialStatus())
    const fromList = new Set(bootstrap.map(b => b.peerId))
    const now = Date.now()
    return {
      peers: ctx.replicator.peers.connected().map((p) => ({
        peerId: p.nodeId,
        heads: p.heads,
        inSync: p.heads.join() === ours,
        lastSeenAt: lastSeen(p, now),
        http: p.http,
        addrs: p.addrs,
        bootstrap: fromList.has(p.nodeId)
      })),
      bootstrap
    }
  })
}
