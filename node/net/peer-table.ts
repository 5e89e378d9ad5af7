import type { AgentBeat } from '../../crdt/wire.js'

/** What this node knows of another node: from its announcements and our sync session with it. */
export interface PeerInfo {
  nodeId: string
  /** Heads the peer last announced (announce or changes frame). */
  heads: string[]
  headsAt: number | null
  /** When its last presence announcement arrived (local clock). */
  lastSeenAt: number | null
  http: string | null
  addrs: string[]
  beats: AgentBeat[]
  /** It announced that it can run the merge queue (has a git clone). */
  merger: boolean
  /** A sync session is open with it (we are directly connected). */
  connected: boolean
  /** Since when it has announced heads that we lack; used to decide on a full resync. */
  missingSince: number | null
}

/** Known peers by node id (= libp2p peer id). Plain data; the replicator fills it in. */
export class PeerTable {
  private readonly peers = new Map<string, PeerInfo>()

  get (nodeId: string): PeerInfo {
    let p = this.peers.get(nodeId)
    if (p === undefined) {
      p = { nodeId, heads: [], headsAt: null, lastSeenAt: null, http: null, addrs: [], beats: [], merger: false, connected: false, missingSince: null }
      this.peers.set(nodeId, p)
    }
    return p
  }

  find (nodeId: string): PeerInfo | undefined {
    return this.peers.get(nodeId)
  }

  all (): PeerInfo[] {
    return [...this.peers.values()]
  }

  connected (): PeerInfo[] {
    return this.all().filter(p => p.connected)
  }

  /**
   * Nodes heard from within the liveness window. An open connection alone does not count once the
   * peer has announced itself: a silently cut link keeps its connection open for a while (until
   * libp2p's pings give up), and a peer that stopped announcing must drop out within the window.
   * A freshly connected peer counts until its first announcement arrives.
   */
  live (now: number, livenessMs: number): PeerInfo[] {
    return this.all().filter(p => p.lastSeenAt === null ? p.connected : now - p.lastSeenAt <= livenessMs)
  }
}
