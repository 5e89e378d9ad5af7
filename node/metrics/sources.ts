import type { ClaimAckStats } from '../net/claim-acks.js'
import type { ProberStats } from '../net/prober.js'
import type { ReplicationStats } from '../net/replicator.js'

/** One peer as the metrics see it: whether its announced heads match ours, and how many we lack. */
export interface PeerHeadsSample {
  peer: string
  /** Heads the peer announced that this replica does not have yet (0 when we hold all of them). */
  behind: number
  /** Its announced heads equal ours. */
  inSync: boolean
}

/** Bytes the replica keeps on disk right now (free to read: the chunk store keeps count). */
export interface StorageSample {
  snapshotBytes: number
  chunkBytes: number
  chunkCount: number
}

/**
 * Where the gauges read their values at scrape time. Every source is optional: a metric whose
 * source is missing is left out of the output (not reported as 0), so subsystems that do not exist
 * yet (leader, agent health) plug in later with FleetMetrics.addSources, without touching the
 * metric definitions. Sources are called on every scrape: keep them cheap, or cache (see cachedByHeads).
 */
export interface MetricsSources {
  /** Fleet peers with an open sync session. */
  connectedPeers?: () => number
  /** Size of the whole replica when saved (expensive to compute: cache it). */
  documentBytes?: () => number
  /** Times the document's view was rebuilt after Automerge showed a stale value (crdt/materialization.ts). */
  materializationRepairs?: () => number
  /** Local writes and the changes they made: grouped writes of one turn share one change (DocStore.groupChange). */
  localWrites?: () => { writes: number, changes: number }
  storage?: () => StorageSample
  /** Peers heard from recently, with their announced heads compared to ours. */
  peerHeads?: () => PeerHeadsSample[]
  /** Claim acks this node sent or passed on, by path (node/net/claim-acks.ts `stats`). */
  claimAcks?: () => ClaimAckStats
  /** The SWIM prober's counters and Lifeguard's local-health score (node/net/prober.ts). */
  swim?: () => ProberStats & { health: number }
  /** Cumulative replication counters (node/net/replicator.ts `stats`). */
  replication?: () => ReplicationStats
  /** Tasks by effective status (the status the API shows). */
  tasksByStatus?: () => Record<string, number>
  /** Merge queue entries by state (queued, merging, merged, ejected). */
  mergeQueueByState?: () => Record<string, number>
  /** Registered agents by health (healthy, stale, dead). */
  agentsByHealth?: () => Record<string, number>
  /** The current leader term and whether this node leads it; null while no leader is known. */
  leader?: () => { term: number, isLeader: boolean } | null
}
