import type { MergeQueueStore } from '../../../node/git/merge-leader.js'
import type { MergeEntry } from '../../../node/git/merge-runner.js'

export interface Row {
  entry: MergeEntry
  priority: number
  enqueuedAt: number
  state: 'queued' | 'merging' | 'merged' | 'ejected'
  leader: string | null
  sha: string | null
  reason: string | null
}

/** The merge queue as the document would hold it, in memory, with the order MergeQueueStore asks for. */
export class MemoryQueue implements MergeQueueStore {
  /** Called when an entry is first marked merged / ejected (the task done / back to pending). */
  onMerged: (entry: MergeEntry, sha: string) => void = () => {}
  onEjected: (entry: MergeEntry, reason: string) => void = () => {}
  constructor (private readonly nodeId: string, readonly rows = new Map<string, Row>()) {}

  /** The same queue as another node's leader sees it (shared rows, its own node id). */
  asNode (nodeId: string): MemoryQueue {
    const q = new MemoryQueue(nodeId, this.rows)
    q.onMerged = (e, s) => this.onMerged(e, s)
    q.onEjected = (e, r) => this.onEjected(e, r)
    return q
  }

  add (entry: MergeEntry, priority = 0, enqueuedAt = this.rows.size, state: Row['state'] = 'queued', leader: string | null = null): void {
    this.rows.set(entry.id, { entry, priority, enqueuedAt, state, leader, sha: null, reason: null })
  }

  row (id: string): Row {
    const r = this.rows.get(id)
    if (r === undefined) throw new Error(`no entry ${id}`)
    return r
  }

  async next (): Promise<MergeEntry | null> {
    const open = [...this.rows.values()].filter(r => r.state === 'queued' || r.state === 'merging')
    open.sort((a, b) => (a.state === 'merging' ? 0 : 1) - (b.state === 'merging' ? 0 : 1) ||
      b.priority - a.priority || a.enqueuedAt - b.enqueuedAt || (a.entry.id < b.entry.id ? -1 : 1))
    return open[0]?.entry ?? null
  }

  async markMerging (id: string): Promise<boolean> {
    const r = this.row(id)
    if (r.state === 'merged' || r.state === 'ejected') return false
    r.state = 'merging'
    r.leader = this.nodeId
    return true
  }

  async markMerged (id: string, sha: string): Promise<void> {
    const r = this.row(id)
    if (r.state === 'merged') return
    Object.assign(r, { state: 'merged', sha })
    this.onMerged(r.entry, sha)
  }

  async eject (id: string, reason: string): Promise<void> {
    const r = this.row(id)
    if (r.state === 'ejected' || r.state === 'merged') return
    Object.assign(r, { state: 'ejected', reason })
    this.onEjected(r.entry, reason)
  }
}
