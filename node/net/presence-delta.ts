import type { AgentBeat } from '../../crdt/wire.js'

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
  private readonly sentBeats = new Map<string, string>()

  /** The beats to announce now, or null when there is nothing to announce (never null when full). */
  next (p: OwnPresence, full: boolean): AgentBeat[] | null {
    const presence = JSON.stringify([p.http, p.addrs, p.merger, p.nbrs])
    const beatKey = (b: AgentBeat): string => `${b.at}|${b.assignment ?? ''}|${b.status}`
    const changed = p.beats.filter(b => this.sentBeats.get(b.id) !== beatKey(b))
    if (!full && changed.length === 0 && presence === this.last) return null
    for (const b of p.beats) this.sentBeats.set(b.id, beatKey(b))
    // Agents that left stop being remembered (the map stays the size of this node's agents).
    if (this.sentBeats.size > p.beats.length) {
      const ids = new Set(p.beats.map(b => b.id))
      for (const id of this.sentBeats.keys()) if (!ids.has(id)) this.sentBeats.delete(id)
    }
    this.last = presence
    return full ? p.beats : changed
  }
}
