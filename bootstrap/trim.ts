import type { PeerId } from '@libp2p/interface'

/**
 * Which inbound connections a node over its connection cap closes. Pure: the dialer
 * (bootstrap/dialer.ts) passes its connections, what membership knows of each peer's announced
 * neighbours, and the time.
 *
 * Why a cap on inbound connections at all: the dialer bounds what a node dials, but a node every
 * joiner dials (the bootstrap node) would otherwise keep one connection, sync session, probe
 * target and gossip mesh slot per node in the cluster, and be the hottest node.
 *
 * Correctness argument (the overlay stays connected): only inbound connections from peers that
 * are not in our bootstrap list are closed; never one younger than the grace period (a joiner
 * needs it to learn the members and dial its own neighbours, and its announced neighbours are
 * not known yet); and never one whose peer announced no other live neighbour, so a trimmed peer
 * always keeps a connection to the overlay as far as this node can tell. Among those, a peer
 * that shares a neighbour with us is trimmed first: after closing the edge a path of two hops
 * (us - shared neighbour - peer) still joins both sides, so removing it cannot split the overlay
 * (unless that neighbour drops at the same moment). A peer with no shared neighbour is trimmed
 * only if it announced at least two other neighbours (one stale entry does not isolate it).
 * A trimmed peer that still ends up alone redials its bootstrap peers (the dialer's minPeers).
 */

/**
 * Connections a node accepts beyond maxPeers before it trims inbound ones, as a fraction of
 * maxPeers (rounded up, at least 1): 8 -> a cap of 12. Not 0: a node the dialer filled to
 * maxPeers must still accept joiners (a new node joins through a bootstrap node that is full),
 * and a cap equal to what others dial up to would close every inbound connection from a node
 * with room, which redials: churn. Half again keeps the degree within the 8-16.
 */
export const DEFAULT_INBOUND_SLACK_FRACTION = 0.5
/** An inbound connection younger than this is never trimmed: the joiner is still finding its own neighbours. */
export const DEFAULT_TRIM_GRACE_MS = 10_000

export function inboundSlackFor (maxPeers: number): number {
  return Math.max(1, Math.ceil(maxPeers * DEFAULT_INBOUND_SLACK_FRACTION))
}

/** One connected peer as the trimming rule sees it. */
export interface TrimCandidate {
  peer: string
  /** Every connection to it was opened by the peer (one we dialed is our own choice: kept). */
  inbound: boolean
  /** It is in this node's bootstrap list (never trimmed). */
  bootstrap: boolean
  /** When its oldest open connection opened (ms, same clock as `now`). */
  openedAt: number
  /** The neighbours it last announced that are live members (membership's PeerInfo.nbrs). */
  nbrs: readonly string[]
}

export interface TrimInput {
  selfId: string
  /** The connected peers (one entry per peer; connections being closed already left out). */
  peers: readonly TrimCandidate[]
  /** Peers above this many are closed (maxPeers plus the inbound slack). */
  cap: number
  now: number
  /** A connection younger than this is never closed. */
  graceMs: number
}

/**
 * The peers to hang up on (at most the excess over the cap; fewer, possibly none, when not
 * enough are safe to close). Order: shares a neighbour with us, then announced >= 2 other
 * neighbours, then oldest connection first (a newer joiner is still filling its own neighbour
 * set), then peer id (deterministic). O(peers x announced neighbours): both are bounded.
 */
export function chooseTrims (input: TrimInput): string[] {
  const excess = input.peers.length - input.cap
  if (excess <= 0) return []
  const ours = new Set(input.peers.map(p => p.peer))
  const ranked: Array<{ peer: string, score: number, openedAt: number }> = []
  for (const c of input.peers) {
    if (!c.inbound || c.bootstrap || input.now - c.openedAt < input.graceMs) continue
    let others = 0
    let shared = false
    for (const n of c.nbrs) {
      if (n === input.selfId || n === c.peer) continue
      others++
      if (ours.has(n)) shared = true
    }
    if (others === 0 || (!shared && others < 2)) continue
    ranked.push({ peer: c.peer, score: (shared ? 2 : 0) + (others >= 2 ? 1 : 0), openedAt: c.openedAt })
  }
  ranked.sort((x, y) => y.score - x.score || x.openedAt - y.openedAt || (x.peer < y.peer ? -1 : x.peer > y.peer ? 1 : 0))
  return ranked.slice(0, excess).map(r => r.peer)
}

/** One libp2p connection as the dialer sees it (libp2p's Connection has these fields). */
export interface DialerConnection {
  remotePeer: PeerId
  direction: 'inbound' | 'outbound'
  timeline: { open: number }
}

/**
 * The connected peers (several connections to one peer make one entry, inbound only if all are),
 * leaving out those being closed. O(connections).
 */
export function peersOf (connections: readonly DialerConnection[], closing: ReadonlySet<string>, isBootstrap: (peer: string) => boolean, neighboursOf: (peer: string) => readonly string[]): TrimCandidate[] {
  const byPeer = new Map<string, TrimCandidate>()
  for (const c of connections) {
    const peer = c.remotePeer.toString()
    if (closing.has(peer)) continue
    const known = byPeer.get(peer)
    if (known === undefined) {
      byPeer.set(peer, { peer, inbound: c.direction === 'inbound', bootstrap: false, openedAt: c.timeline.open, nbrs: [] })
    } else {
      known.inbound &&= c.direction === 'inbound'
      known.openedAt = Math.min(known.openedAt, c.timeline.open)
    }
  }
  const out = [...byPeer.values()]
  // Only peers that could be trimmed need the lookups.
  for (const p of out) {
    if (!p.inbound) continue
    p.bootstrap = isBootstrap(p.peer)
    if (!p.bootstrap) p.nbrs = neighboursOf(p.peer)
  }
  return out
}
