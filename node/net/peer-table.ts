import { isLiveStatus, type MemberStatus } from '../../crdt/rules/swim.js'
import type { AgentBeat, MemberEntry } from '../../crdt/wire.js'
import type { RouteGraph } from './ack-routes.js'

/** What this node knows of another node: from membership (SWIM), announcements and our session with it. */
export interface PeerInfo {
  nodeId: string
  /** Heads the peer last announced (announce or changes frame). */
  heads: string[]
  headsAt: number | null
  /**
   * Its last direct evidence of life (a probe, an ack, an announcement; local clock), or when it
   * stopped being live. Read it through lastSeen(), which is now for a live member.
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
  /** The peers it last announced holding sessions with (the overlay's links; ack routes). */
  nbrs: string[]
  /** A sync session is open with it (we are directly connected). */
  connected: boolean
  /** Since when it has announced heads that we lack; used to decide on a full resync. */
  missingSince: number | null
  /** The heads last found complete in our replica (the same array as `heads` while they are unchanged). */
  checkedHeads: string[] | null
}

/** Known peers by node id (= libp2p peer id). Plain data; the replicator fills it in. */
export class PeerTable {
  private readonly peers = new Map<string, PeerInfo>()

  get (nodeId: string): PeerInfo {
    let p = this.peers.get(nodeId)
    if (p === undefined) {
      p = { nodeId, heads: [], headsAt: null, lastSeenAt: null, status: null, incarnation: 0, statusSince: 0, http: null, addrs: [], beats: [], merger: false, nbrs: [], connected: false, missingSince: null, checkedHeads: null }
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

  /** Whether a node is a live member (see isLivePeer); O(1). */
  isLive (nodeId: string): boolean {
    const p = this.peers.get(nodeId)
    return p !== undefined && isLivePeer(p)
  }

  /** How many of these nodes are live members; `selfId` counts as live. */
  countLive (ids: readonly string[], selfId: string): number {
    let n = 0
    for (const x of ids) if (x === selfId || this.isLive(x)) n++
    return n
  }

  /** What we hold about every member with a status, as member-list entries (presence for the live ones). */
  memberEntries (maxAddrs: number): MemberEntry[] {
    const out: MemberEntry[] = []
    for (const m of this.peers.values()) {
      if (m.status === null) continue
      out.push(isLiveStatus(m.status)
        ? { node: m.nodeId, status: m.status, inc: m.incarnation, http: m.http, addrs: m.addrs.slice(0, maxAddrs), merger: m.merger, heads: m.heads, nbrs: m.nbrs }
        : { node: m.nodeId, status: m.status, inc: m.incarnation })
    }
    return out
  }

  /** The live members (see isLivePeer). */
  live (): PeerInfo[] {
    const out: PeerInfo[] = []
    for (const p of this.peers.values()) if (isLivePeer(p)) out.push(p)
    return out
  }
}

/**
 * Live: alive or suspect by the SWIM state machine (a member is dead only once its suspicion ran
 * out without a refutation; node/net/membership.ts). A connected peer nobody has made a statement
 * about yet (just connected, before its first announcement) counts too.
 */
export function isLivePeer (p: PeerInfo): boolean {
  return p.status === null ? p.connected : isLiveStatus(p.status)
}

/**
 * When the peer was last known alive: now while it is live (SWIM vouches for it without a
 * message from it), else its lastSeenAt (membership sets it when the peer stops being live).
 */
export function lastSeen (p: PeerInfo, now: number): number | null {
  return isLivePeer(p) ? now : p.lastSeenAt
}

/** The overlay as the peer table knows it (announced links, SWIM liveness), for ack routes. */
export function peerTableGraph (selfId: string, peers: PeerTable, neighbours: () => ReadonlySet<string>): RouteGraph {
  return {
    selfId,
    neighbours,
    neighboursOf: (node) => peers.find(node)?.nbrs ?? [],
    isLive: (node) => peers.isLive(node),
    members: () => peers.all().map(p => p.nodeId)
  }
}
