import { DocStore } from '../../crdt/doc-store.js'
import { MemoryChunkStore } from '../../crdt/storage/memory-chunk-store.js'
import { Coordinator } from '../../node/coord/coordinator.js'
import { DEFAULT_COORDINATION } from '../../node/coord/settings.js'
import { EventBus } from '../../node/events/bus.js'
import { silentLogger } from '../../node/logger.js'
import type { MemoryHub } from '../../node/net/memory-network.js'
import { Replicator } from '../../node/net/replicator.js'
import { createServices, type Services } from '../../node/services/index.js'

/** A simulated node: the real store, replication, services and coordination (settler, leases, leader). */
export interface SimNode { id: string, store: DocStore, replicator: Replicator, services: Services, coordinator: Coordinator }

/** Starts one node per id on the hub, not linked yet. */
export async function startSimNodes (hub: MemoryHub, ids: string[], livenessMs: number, routeAcks = true): Promise<SimNode[]> {
  const out: SimNode[] = []
  const settings = { ...DEFAULT_COORDINATION, livenessMs }
  for (const id of ids) {
    const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    const peers = (): ReturnType<Replicator['peers']['live']> => replicator.peers.live()
    const services = createServices({ store, nodeId: id, settings, livePeers: peers })
    const replicator: Replicator = new Replicator({ network: hub.endpoint(id), store, logger: silentLogger(), livenessMs, routeAcks, presence: () => ({ http: null, beats: services.agents.localBeats() }) })
    await replicator.start()
    const coordinator = new Coordinator({ selfId: id, store, replicator, services, events: new EventBus(), settings, logger: silentLogger(), merger: false, livePeers: peers, isLive: (n) => replicator.peers.isLive(n) })
    coordinator.start()
    out.push({ id, store, replicator, services, coordinator })
  }
  return out
}

/** Stops the nodes (coordination, replication, then the store). */
export async function stopSimNodes (nodes: SimNode[]): Promise<void> {
  for (const n of nodes) {
    n.coordinator.stop()
    await n.replicator.stop()
    await n.store.close()
  }
}

/**
 * Whether every node knows every other's current neighbours (their settled links announced, see
 * presence-delta.ts): after it, routes are complete and nothing more is announced while idle.
 */
export function overlayKnown (replicators: Replicator[]): boolean {
  const links = new Map(replicators.map(r => [r.network.selfId, [...r.connectedPeers()].sort().join()]))
  return replicators.every(r => replicators.every(m => m === r || r.peers.find(m.network.selfId)?.nbrs.join() === links.get(m.network.selfId)))
}
