import { DEFAULT_HEADS_ANNOUNCE_MS } from '../../crdt/rules/swim.js'
import type { AgentBeat } from '../../crdt/wire.js'

/**
 * A changed neighbour set is announced once it has stayed the same this long: while the overlay
 * forms (sessions opening one after another) or churns, one announcement instead of one per change.
 * Routes (ack-routes.ts) only need the links eventually; until then acks fall back to announcements.
 */
export const DEFAULT_NEIGHBOURS_SETTLE_MS = 3000

/** Ephemeral data carried by each announcement, as the node supplies it. */
export interface Presence {
  http: string | null
  beats: AgentBeat[]
  merger?: boolean
}

/** What a node says about itself in an announcement, besides its heads and incarnation. */
export interface OwnPresence {
  http: string | null
  addrs: string[]
  merger: boolean
  /** Peers it holds sessions with (the overlay's links). */
  nbrs: string[]
  beats: AgentBeat[]
}

/**
 * Decides what an announcement must carry: nothing while nothing changed, else the heartbeats that
 * changed since the last one (all of them when full). Remembers one key per local agent only.
 */
export class PresenceDelta {
  private last = ''
  private lastNbrs = ''
  private seenNbrs = ''
  private seenNbrsSince = 0
  private readonly sentBeats = new Map<string, string>()
  private lastHeads = ''
  private lastAt = -Infinity

  constructor (private readonly settleMs = DEFAULT_NEIGHBOURS_SETTLE_MS, private readonly headsEveryMs = DEFAULT_HEADS_ANNOUNCE_MS) {}

  /**
   * The beats to announce now, or null when there is nothing to announce (never null when full).
   * Heads that changed are due every `headsEveryMs()` (crdt/rules/swim.ts headsAnnounceMs: a member
   * whose heads reach others only this way is judged by them on these, see there).
   */
  next (p: OwnPresence, full: boolean, now: number, heads: readonly string[] = [], headsEveryMs: () => number = () => this.headsEveryMs): AgentBeat[] | null {
    const presence = JSON.stringify([p.http, p.addrs, p.merger])
    const nbrs = p.nbrs.join(',')
    if (nbrs !== this.seenNbrs) {
      this.seenNbrs = nbrs
      this.seenNbrsSince = now
    }
    const nbrsDue = nbrs !== this.lastNbrs && now - this.seenNbrsSince >= this.settleMs
    const beatKey = (b: AgentBeat): string => `${b.at}|${b.assignment ?? ''}|${b.status}`
    const changed = p.beats.filter(b => this.sentBeats.get(b.id) !== beatKey(b))
    const headsKey = heads.join(',')
    // Asked only while changed heads wait to go out: an idle node never computes the interval.
    const headsDue = headsKey !== this.lastHeads && now - this.lastAt >= headsEveryMs()
    if (!full && changed.length === 0 && presence === this.last && !nbrsDue && !headsDue) return null
    this.lastHeads = headsKey
    this.lastAt = now
    for (const b of p.beats) this.sentBeats.set(b.id, beatKey(b))
    // Agents that left stop being remembered (the map stays the size of this node's agents).
    if (this.sentBeats.size > p.beats.length) {
      const ids = new Set(p.beats.map(b => b.id))
      for (const id of this.sentBeats.keys()) if (!ids.has(id)) this.sentBeats.delete(id)
    }
    this.last = presence
    // Any announcement carries the neighbours as they are now.
    this.lastNbrs = nbrs
    return full ? p.beats : changed
  }
}
