import { EventEmitter } from 'node:events'
import { leaderFor, termOf } from '../../crdt/rules/leader.js'
import type { CoordinationSettings } from './settings.js'

export interface LeaderState {
  leader: string | null
  term: number
  members: string[]
}

export interface LeaderServiceInit {
  selfId: string
  settings: CoordinationSettings
  /** Whether this node is a merger: it can lead merges (it has a git clone to merge with). */
  merger: boolean
  /** The other live nodes (see README, Glossary), and whether each is a merger. */
  livePeers: () => Array<{ nodeId: string, merger: boolean }>
}

interface LeaderEvents {
  change: [LeaderState]
}

/**
 * The rotating leader: a pure function (crdt/rules/leader.ts) of the term (time / termMs) and the
 * live membership, evaluated by every node. No election traffic: nodes that see the same members
 * name the same leader; while views differ (a node just died, a partition) two nodes may both
 * think they lead, and git's refusal of non-fast-forward pushes fences the stale one.
 */
export class LeaderService extends EventEmitter<LeaderEvents> {
  private last: LeaderState = { leader: null, term: -1, members: [] }

  constructor (private readonly init: LeaderServiceInit) {
    super()
  }

  current (now = Date.now()): LeaderState {
    // Nodes with a git clone lead (they can merge); a cluster with none still names a leader.
    const all = [{ nodeId: this.init.selfId, merger: this.init.merger }, ...this.init.livePeers()]
    const eligible = all.some(m => m.merger) ? all.filter(m => m.merger) : all
    const members = eligible.map(m => m.nodeId).sort()
    const term = termOf(now, this.init.settings.termMs)
    return { leader: leaderFor(term, members), term, members }
  }

  isLeader (now = Date.now()): boolean {
    return this.current(now).leader === this.init.selfId
  }

  /** Re-evaluates and emits 'change' when the leader moved. */
  tick (now = Date.now()): LeaderState {
    const s = this.current(now)
    if (s.leader !== this.last.leader || s.term !== this.last.term) {
      const moved = s.leader !== this.last.leader
      this.last = s
      if (moved) this.emit('change', s)
    }
    return s
  }
}
