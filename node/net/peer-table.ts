import { isLiveStatus, type MemberStatus } from '../../crdt/rules/swim.js'
import type { AgentBeat } from '../../crdt/wire.js'

/** What this node knows of another node: from membership (SWIM), announcements and our session with it. */
export interface PeerInfo {
  nodeId: string
  /** Heads the peer last announced (announce or changes frame). */
  heads: string[]
  headsAt: number | null
  /**
   * When it was last known alive (local clock): direct evidence (a probe, an ack, an
   * announcement), and for a live member also the last time the live set was read.
   */
  lastSeenAt: number | null
  /** Its SWIM status and incarnation (crdt/rules/swim.ts); null until any statement about it arrived. */
  status: MemberStatus | null
  incarnation: number
  /** When this node adopted the status (a suspect's suspicion timeout runs from here). */
  statusSince: number
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
      p = { nodeId, heads: [], headsAt: null, lastSeenAt: null, status: null, incarnation: 0, statusSince: 0, http: null, addrs: [], beats: [], merger: false, connected: false, missingSince: null }
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
   * The live members: alive or suspect by the SWIM state machine (a member is dead only once its
   * suspicion ran out without a refutation; node/net/membership.ts). A connected peer nobody has
   * made a statement about yet (just connected, before its first announcement) counts too. The
   * liveness window is not needed any more (the detector's timing derives from it); it stays in
   * the signature so callers need not know which design runs.
   */
  live (now: number, _livenessMs?: number): PeerInfo[] {
    const out: PeerInfo[] = []
    for (const p of this.peers.values()) {
      if (p.status === null ? !p.connected : !isLiveStatus(p.status)) continue
      p.lastSeenAt = now
      out.push(p)
    }
    return out
  }
}
