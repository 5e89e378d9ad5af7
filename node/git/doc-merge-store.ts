import { DEFAULT_TERM_MS, takesOverMerge } from '../../crdt/rules/leader.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import type { Logger } from '../logger.js'
import type { MergeQueueService } from '../services/merge-queue.js'
import type { MergeQueueStore } from './merge-leader.js'
import type { MergeEntry } from './merge-runner.js'

export interface DocMergeStoreInit {
  mergeQueue: MergeQueueService
  projection: ProjectionCache
  selfId: string
  /** Whether a node is live (a 'merging' entry of a live other leader is left to it for a while). */
  isLive: (nodeId: string) => boolean
  /** How long a live former leader's 'merging' entry is left to it (takesOverMerge); default DEFAULT_TERM_MS. */
  takeOverAfterMs?: number
  /** Default Date.now. */
  now?: () => number
  logger: Logger
}

/**
 * The merge queue of the document as the leader's runner sees it. Fencing happens here: an entry
 * whose assignment lost its task (e.g. enqueued on the far side of a partition) is ejected, and so
 * is a second entry for a task that is already merged, so no task is merged twice.
 */
export class DocMergeStore implements MergeQueueStore {
  constructor (private readonly init: DocMergeStoreInit) {}

  async next (): Promise<MergeEntry | null> {
    const { mergeQueue, projection, selfId } = this.init
    // Only the active entries (an index), not the queue's whole history.
    const entries = mergeQueue.active()
    const now = (this.init.now ?? Date.now)()
    const after = this.init.takeOverAfterMs ?? DEFAULT_TERM_MS
    const merging = entries.filter(e => e.state === 'merging' && takesOverMerge(e, selfId, this.init.isLive, now, after))
    const queued = entries.filter(e => e.state === 'queued')
    for (const e of [...merging, ...queued]) {
      const a = projection.get().assignments.get(e.assignmentId)
      const merged = mergeQueue.mergedFor(e.taskId, e.id)
      if (merged !== undefined) {
        // Not a failed attempt: the task's work is on main. Sending the task back for another
        // attempt (as for a conflict) looped: that attempt's entry met the same merged entry, and
        // so on without end (a task completed into 'review' after the merge of another attempt).
        // Without reopening, a task in review is done (ejectMerge).
        await mergeQueue.eject(e.id, `task ${e.taskId} is already merged (entry ${merged.id}, ${merged.sha ?? ''})`, '', selfId, { reopen: false })
        continue
      }
      if (a === undefined || (a.state !== 'confirmed' && a.state !== 'completed')) {
        await mergeQueue.eject(e.id, `fenced: assignment ${e.assignmentId} is ${a?.state ?? 'unknown'}`, '', selfId)
        continue
      }
      return { id: e.id, taskId: e.taskId, branch: e.branch, commit: e.commit }
    }
    return null
  }

  async markMerging (id: string): Promise<boolean> {
    const e = this.init.mergeQueue.get(id)
    if (e.state === 'merged' || e.state === 'ejected') return false
    await this.init.mergeQueue.markMerging(id, this.init.selfId)
    return true
  }

  async markMerged (id: string, sha: string, _output: string): Promise<void> {
    if (this.init.mergeQueue.get(id).state === 'merged') return
    await this.init.mergeQueue.markMerged(id, sha, this.init.selfId)
  }

  async eject (id: string, reason: string, output: string, opts: { reopen: boolean } = { reopen: true }): Promise<void> {
    const state = this.init.mergeQueue.get(id).state
    if (state === 'merged' || state === 'ejected') return
    await this.init.mergeQueue.eject(id, reason, output, this.init.selfId, opts)
  }
}
