import type { DocStore } from '../../crdt/doc-store.js'
import type { Replicator } from '../net/replicator.js'
import type { MetricsSources, PeerHeadsSample } from './sources.js'

export interface NodeSourcesInit {
  store: DocStore
  replicator: Replicator
  /** Merge queue entries by state, kept by the merge queue service's index. */
  mergeQueueCounts?: () => Readonly<Record<string, number>>
  /** Tasks by effective status, kept by the projection (read at scrape time, O(statuses)). */
  taskCounts?: () => Readonly<Record<string, number>>
}

function countBy (values: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}

/**
 * The sources every node has from the start: replication, storage, the document's merge queue and
 * tasks. Add the ones of later subsystems (leader, agentsByHealth) next to these in fleet-node.ts.
 */
export function nodeMetricsSources (init: NodeSourcesInit): MetricsSources {
  const { store, replicator } = init
  const sources: MetricsSources = {
    connectedPeers: () => replicator.connectedPeers().length,
    replication: () => replicator.stats,
    claimAcks: () => replicator.members.acks.stats,
    swim: () => ({ ...replicator.members.prober.stats, health: replicator.members.prober.health }),
    storage: () => store.storageStats(),
    // What the store holds (last snapshot plus chunks since): saving the replica whole to measure
    // it would block the event loop for as long as a compaction.
    documentBytes: () => store.storedBytes(),
    materializationRepairs: () => store.materializationRepairs,
    localWrites: () => store.localWrites,
    peerHeads: () => {
      const ours = store.heads().join(',')
      return replicator.peers.live().map((p): PeerHeadsSample => ({
        peer: p.nodeId,
        behind: p.heads.length === 0 ? 0 : store.missingDeps(p.heads).length,
        inSync: p.heads.join(',') === ours
      }))
    },
    // Kept by the merge queue's index (O(states) per scrape), not counted over the queue's history.
    mergeQueueByState: () => init.mergeQueueCounts?.() ?? {}
  }
  const counts = init.taskCounts
  if (counts !== undefined) sources.tasksByStatus = () => ({ ...counts() })
  return sources
}

export interface CoordinationSourcesInit {
  selfId: string
  /** The rotating leader as this node sees it (node/coord/leader.ts). */
  leader: { current: () => { leader: string | null, term: number } }
  /** Registered agents with their heartbeat health (node/services/agents.ts). */
  agents: { list: () => Array<{ health_status: string }> }
}

/** Leader and agent health: sources of the coordination layer, added once it exists. */
export function coordinationMetricsSources (init: CoordinationSourcesInit): MetricsSources {
  return {
    leader: () => {
      const s = init.leader.current()
      return s.leader === null ? null : { term: s.term, isLeader: s.leader === init.selfId }
    },
    // Health depends on the clock, not only on the document: never cached.
    agentsByHealth: () => countBy(init.agents.list().map(a => a.health_status))
  }
}
