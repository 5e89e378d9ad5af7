import { getIn, own } from '../collections.js'
import { read, str, type FleetDoc } from '../schema.js'
import { readTask, writeTaskState } from '../task-records.js'

/**
 * Writes of the merge queue: pure functions of (document draft, input, now), run inside one
 * Automerge change by the caller (model: crdt/mutations/tasks.ts). Time is passed in.
 */

export interface NewMergeEntry {
  id: string
  taskId: string
  assignmentId: string
  agentId: string
  branch: string
  /** The pushed tip to merge, or null (then the branch as it is when merged). */
  commit: string | null
  priority: number
}

export function enqueueMerge (d: FleetDoc, e: NewMergeEntry, now: number): void {
  d.mergeQueue[e.id] = {
    id: str(e.id),
    taskId: str(e.taskId),
    assignmentId: str(e.assignmentId),
    agentId: str(e.agentId),
    branch: str(e.branch),
    commit: e.commit === null ? null : str(e.commit),
    priority: e.priority,
    enqueuedAt: now,
    state: str('queued'),
    sha: null,
    reason: null,
    output: null,
    leader: null,
    updatedAt: now
  }
}

/** The leader starts merging the entry (an entry already merged or ejected stays as it is). */
export function markMerging (d: FleetDoc, id: string, leader: string, now: number): void {
  const e = own(d.mergeQueue, id)
  if (e === undefined || read(e.state) === 'merged' || read(e.state) === 'ejected') return
  e.state = str('merging')
  e.leader = str(leader)
  e.updatedAt = now
}

/** Merged: the entry records the sha of main after the push, and its task is done (unless cancelled). */
export function markMerged (d: FleetDoc, m: { id: string, taskId: string, sha: string, leader?: string }, now: number): void {
  const e = own(d.mergeQueue, m.id)
  if (e === undefined) return
  e.state = str('merged')
  e.sha = str(m.sha)
  e.reason = null
  if (m.leader !== undefined) e.leader = str(m.leader)
  e.updatedAt = now
  const t = readTask(d, m.taskId)
  if (t !== undefined && t.status !== 'cancelled') writeTaskState(d, m.taskId, { status: 'done', reason: null, updatedAt: now })
}

export interface Ejection {
  id: string
  taskId: string
  assignmentId: string
  branch: string
  reason: string
  /** The tail of the check's output kept with the entry (already bounded by the caller). */
  output: string
  leader?: string
  /** Send the task back to pending on a new attempt (false: it is on main through another entry). */
  reopen: boolean
}

/**
 * Ejected (conflict, failing check, fenced): the reason and output tail are kept, and the task
 * goes back to pending on a new attempt so the next agent sees why. With `reopen: false` (the
 * task is already on main through another entry) a task in review is done instead.
 */
export function ejectMerge (d: FleetDoc, j: Ejection, now: number): void {
  const e = own(d.mergeQueue, j.id)
  if (e === undefined || read(e.state) === 'merged') return
  e.state = str('ejected')
  e.reason = str(j.reason)
  e.output = str(j.output)
  if (j.leader !== undefined) e.leader = str(j.leader)
  e.updatedAt = now
  const t = readTask(d, j.taskId)
  const a = getIn(d.assignments, j.assignmentId)
  // Only the attempt that produced this branch is sent back; a newer attempt is left alone.
  if (t === undefined || a === undefined || t.attempt !== a.attempt || (t.status !== 'review' && t.status !== 'pending')) return
  if (j.reopen) {
    writeTaskState(d, j.taskId, { status: 'pending', attempt: t.attempt + 1, reason: `merge of ${j.branch} ejected: ${j.reason}`, updatedAt: now })
  } else if (t.status === 'review') {
    // The task is on main through another entry (e.g. the other side of a partition merged
    // it): it is done. Written here too, so that when this side's 'review' meets the other
    // side's 'done' after a heal, both concurrent values of the status say 'done'.
    writeTaskState(d, j.taskId, { status: 'done', reason: null, updatedAt: now })
  }
}
