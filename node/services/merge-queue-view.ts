import type { NewMergeEntry } from '../../crdt/mutations/merge-queue.js'
import { read, readOpt, type DocMergeEntry } from '../../crdt/schema.js'

/** Merge queue entries as the API and the leader see them. */

export const MERGE_STATES = ['queued', 'merging', 'merged', 'ejected'] as const
export type MergeState = typeof MERGE_STATES[number]
/** An entry: what was queued (crdt/mutations/merge-queue.ts NewMergeEntry) and what became of it. */
export interface MergeEntryView extends NewMergeEntry {
  enqueuedAt: number
  state: MergeState
  sha: string | null
  reason: string | null
  output: string | null
  leader: string | null
  updatedAt: number
}

export function entryView (e: DocMergeEntry): MergeEntryView {
  return {
    id: read(e.id),
    taskId: read(e.taskId),
    assignmentId: read(e.assignmentId),
    agentId: read(e.agentId),
    branch: read(e.branch),
    commit: readOpt(e.commit),
    priority: e.priority,
    enqueuedAt: e.enqueuedAt,
    state: read(e.state) as MergeState,
    sha: readOpt(e.sha),
    reason: readOpt(e.reason),
    output: readOpt(e.output),
    leader: readOpt(e.leader),
    updatedAt: e.updatedAt
  }
}

/** Processing order: most urgent first, then first come. */
export function mergeOrder (a: MergeEntryView, b: MergeEntryView): number {
  return b.priority - a.priority || a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : 1)
}
