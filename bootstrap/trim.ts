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
 * with a short path back to us that avoids the edge is trimmed first: two hops (it shares a
 * neighbour with us) or three (one of its neighbours announced one of ours). A peer with a single
 * other neighbour is trimmed only on such a path, and the path must survive the round: it avoids
 * the peers trimmed before it in the round, and its neighbour of ours (the anchor) is not trimmed
 * after it, so two peers that are each other's only way back are not both cut off (they would be
 * left an island of two). A peer with no known path is trimmed only if it announced at least two
 * other neighbours (one stale entry does not isolate it).
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
  /** The live neighbours a member last announced, for paths of three hops (default: none known). */
  neighboursOf?: (peer: string) => readonly string[]
}

/**
 * The peers to hang up on (at most the excess over the cap; fewer, possibly none, when not
 * enough are safe to close). Order: a path back through a shared neighbour, then one of three
 * hops, then >= 2 other neighbours announced; within those, >= 2 other neighbours first, then the
 * oldest connection (a newer joiner is still filling its own neighbour set), then peer id
 * (deterministic). Each pick is checked against the picks before it in the same round.
 * O(peers x announced neighbours^2): all bounded by the connection caps.
 */
export function chooseTrims (input: TrimInput): string[] {
  const excess = input.peers.length - input.cap
  if (excess <= 0) return []
  const kept = new Set(input.peers.map(p => p.peer))
  const trimmed = new Set<string>()
  /** Neighbours of ours that a peer trimmed this round on the strength of its path counts on: kept this round. */
  const anchors = new Set<string>()
  const neighboursOf = input.neighboursOf ?? (() => [])
  /**
   * How a peer is joined to us without its edge to us, by what is kept, given its other announced
   * neighbours: through one we share (hops 2) or through one that announced one of ours (hops 3),
   * with that neighbour of ours (the anchor); null when no such path is known.
   */
  const path = (peer: string, others: readonly string[]): { hops: number, anchor: string } | null => {
    const via = others.filter(n => !trimmed.has(n))
    const shared = via.find(n => kept.has(n))
    if (shared !== undefined) return { hops: 2, anchor: shared }
    for (const n of via) {
      const anchor = neighboursOf(n).find(m => m !== peer && kept.has(m))
      if (anchor !== undefined) return { hops: 3, anchor }
    }
    return null
  }
  const ranked: Array<{ c: TrimCandidate, others: string[], score: number }> = []
  for (const c of input.peers) {
    if (!c.inbound || c.bootstrap || input.now - c.openedAt < input.graceMs) continue
    const others = c.nbrs.filter(n => n !== input.selfId && n !== c.peer)
    const p = path(c.peer, others)
    if (others.length === 0 || (p === null && others.length < 2)) continue
    ranked.push({ c, others, score: (p === null ? 0 : p.hops === 2 ? 4 : 2) + (others.length >= 2 ? 1 : 0) })
  }
  ranked.sort((x, y) => y.score - x.score || x.c.openedAt - y.c.openedAt || (x.c.peer < y.c.peer ? -1 : x.c.peer > y.c.peer ? 1 : 0))
  const out: string[] = []
  for (const { c, others } of ranked) {
    if (out.length === excess) break
    if (anchors.has(c.peer)) continue
    // Checked again: an earlier pick may have been this peer's way back.
    kept.delete(c.peer)
    const p = path(c.peer, others)
    if (p === null && others.length < 2) {
      kept.add(c.peer)
      continue
    }
    // A peer with one other neighbour is trimmed on the strength of this path: keep its anchor.
    if (p !== null && others.length < 2) anchors.add(p.anchor)
    trimmed.add(c.peer)
    out.push(c.peer)
  }
  return out
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
