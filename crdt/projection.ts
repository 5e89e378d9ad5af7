import * as A from '@automerge/automerge'
import { blockedReasons, type SchedStatus } from '../plan/availability.js'
import { getIn, valuesOf } from './collections.js'
import { claimWinner, toClaimView, type ClaimView } from './rules/claims.js'
import { read, readOpt, type DocAssignment, type FleetDoc, type TaskStatus } from './schema.js'
import { allTasks, readTask, type TaskRecord } from './task-records.js'
import { taskView, type TaskView } from './views.js'

/**
 * The cluster as the API shows it: tasks with their effective status and winning assignment,
 * assignments with their effective state. A pure function of the document, so every replica with
 * the same heads shows the same thing; cached by heads because reads vastly outnumber changes.
 */

export const ASSIGNMENT_STATES = ['pending', 'confirmed', 'lost', 'completed', 'released', 'expired', 'failed'] as const
export type AssignmentState = typeof ASSIGNMENT_STATES[number]

export interface AssignmentView {
  id: string
  taskId: string
  agentId: string
  nodeId: string
  attempt: number
  clock: number
  claimedAt: number
  confirmedAt: number | null
  state: AssignmentState
  progress: number
  message: string | null
  summary: string | null
  endedAt: number | null
  reason: string | null
}

export interface TaskState extends TaskView {
  status: TaskStatus
  failures: number
  notBefore: number
  assignee: string | null
  assignmentId: string | null
  progress: number | null
  /** Why a blocked task cannot start. */
  blockedReason: string | null
}

export interface Projection {
  heads: string
  /** In plan order (priority does not reorder the board). */
  tasks: TaskState[]
  taskById: Map<string, TaskState>
  assignments: Map<string, AssignmentView>
  assignmentsByTask: Map<string, AssignmentView[]>
  claimsByTask: Map<string, ClaimView[]>
}

function assignmentState (a: DocAssignment, claim: ClaimView | null, winner: ClaimView | null, task: TaskRecord | undefined): AssignmentState {
  const stored = read(a.state)
  if (stored === 'released' || stored === 'expired' || stored === 'failed') return stored
  // A claim of an attempt that has moved on (expired, ejected, released) no longer holds anything.
  if (task === undefined || claim === null || a.attempt !== task.attempt) return stored === 'completed' ? 'completed' : 'expired'
  if (winner === null || winner.id !== claim.id) return 'lost'
  if (stored === 'completed') return 'completed'
  return a.confirmedAt === null ? 'pending' : 'confirmed'
}

function assignmentView (a: DocAssignment, state: AssignmentState): AssignmentView {
  return {
    id: read(a.id),
    taskId: read(a.taskId),
    agentId: read(a.agentId),
    nodeId: read(a.nodeId),
    attempt: a.attempt,
    clock: a.clock,
    claimedAt: a.claimedAt,
    confirmedAt: a.confirmedAt ?? null,
    state,
    progress: a.progress,
    message: readOpt(a.message),
    summary: readOpt(a.summary),
    endedAt: a.endedAt,
    reason: readOpt(a.reason)
  }
}

/** The assignment an agent holds (claimed and not yet settled, or confirmed), if any. */
export function heldBy (view: Projection, agentId: string): AssignmentView | undefined {
  for (const a of view.assignments.values()) {
    if (a.agentId === agentId && (a.state === 'pending' || a.state === 'confirmed')) return a
  }
  return undefined
}

interface TaskSlot {
  record: TaskRecord
  /** Effective state before blocking is applied. */
  state: TaskState
}

/**
 * The projection, maintained incrementally: the store reports each change's patches, and only the
 * tasks and assignments they touched are re-read and re-derived. Blocking, which depends on every
 * dependency's status, is re-derived over all tasks (cheap: statuses only). Without patches (or on
 * a patch it cannot place) it rebuilds from the whole document, so it is never stale.
 */
export class ProjectionCache {
  private cached: Projection | null = null
  private readonly slots = new Map<string, TaskSlot>()
  private readonly raw = new Map<string, DocAssignment>()
  private readonly byTask = new Map<string, Set<string>>()
  private readonly assignments = new Map<string, AssignmentView>()
  private readonly assignmentsByTask = new Map<string, AssignmentView[]>()
  private readonly claimsByTask = new Map<string, ClaimView[]>()
  private readonly dirtyTasks = new Set<string>()
  private readonly dirtyAssignments = new Set<string>()
  private full = true
  private order: TaskState[] = []
  private reorder = true

  constructor (private readonly docOf: () => A.Doc<FleetDoc>) {}

  /** Records what a change touched (call with every change's patches, in order). */
  notePatches (patches: readonly A.Patch[]): void {
    if (this.full) return
    for (const p of patches) {
      const coll = p.path[0]
      if (coll !== 'tasks' && coll !== 'taskState' && coll !== 'assignments') continue
      const key = p.path[2]
      if (typeof key !== 'string') { this.full = true; return }
      if (coll === 'tasks') this.dirtyTasks.add(key)
      else if (coll === 'taskState') this.dirtyTasks.add(key.slice(0, key.indexOf('/') >>> 0))
      else this.dirtyAssignments.add(key)
    }
  }

  /** Forces a rebuild from the whole document on the next read. */
  invalidate (): void {
    this.full = true
  }

  get (): Projection {
    const doc = this.docOf()
    const heads = A.getHeads(doc).join(',')
    if (this.cached?.heads === heads && !this.full) return this.cached
    const affected = this.full ? this.rebuild(doc) : this.update(doc)
    for (const id of affected) this.derive(id)
    this.dirtyTasks.clear()
    this.dirtyAssignments.clear()
    this.full = false
    if (this.reorder) {
      this.order = [...this.slots.values()].map(s => s.state)
      this.order.sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      this.reorder = false
    } else {
      this.order = this.order.map(t => this.slots.get(t.id)?.state ?? t)
    }
    // Blocking is derived last: it depends on the effective status of every dependency.
    const blocked = blockedReasons(this.order.map(t => ({ id: t.id, status: t.status as SchedStatus, dependsOn: t.dependsOn, priority: t.priority, order: t.order, role: t.role })))
    const tasks = this.order.map((t) => {
      const reason = blocked.get(t.id)
      return reason !== undefined && t.status === 'pending' ? { ...t, status: 'blocked' as TaskStatus, blockedReason: reason, reason: t.reason ?? reason } : t
    })
    this.cached = { heads, tasks, taskById: new Map(tasks.map(t => [t.id, t])), assignments: this.assignments, assignmentsByTask: this.assignmentsByTask, claimsByTask: this.claimsByTask }
    return this.cached
  }

  private rebuild (doc: A.Doc<FleetDoc>): Set<string> {
    this.slots.clear()
    this.raw.clear()
    this.byTask.clear()
    this.assignments.clear()
    this.assignmentsByTask.clear()
    this.claimsByTask.clear()
    this.reorder = true
    const affected = new Set<string>()
    for (const t of allTasks(doc)) {
      this.slots.set(t.id, { record: t, state: emptyState(t) })
      affected.add(t.id)
    }
    for (const a of valuesOf(doc.assignments)) this.putRaw(a)
    for (const taskId of this.byTask.keys()) affected.add(taskId)
    return affected
  }

  private update (doc: A.Doc<FleetDoc>): Set<string> {
    const affected = new Set<string>()
    for (const id of this.dirtyTasks) {
      const rec = readTask(doc, id)
      const had = this.slots.get(id)
      if (rec === undefined) {
        if (had !== undefined) { this.slots.delete(id); this.reorder = true }
        continue
      }
      if (had === undefined || had.record.order !== rec.order) this.reorder = true
      this.slots.set(id, { record: rec, state: had?.state ?? emptyState(rec) })
      affected.add(id)
    }
    for (const id of this.dirtyAssignments) {
      const old = this.raw.get(id)
      if (old !== undefined) {
        affected.add(read(old.taskId))
        this.byTask.get(read(old.taskId))?.delete(id)
        this.raw.delete(id)
      }
      const a = getIn(doc.assignments, id)
      if (a !== undefined) affected.add(this.putRaw(a))
    }
    return affected
  }

  private putRaw (a: DocAssignment): string {
    const id = read(a.id)
    const taskId = read(a.taskId)
    this.raw.set(id, a)
    let set = this.byTask.get(taskId)
    if (set === undefined) this.byTask.set(taskId, set = new Set())
    set.add(id)
    return taskId
  }

  /** Re-derives one task's claims, winner, assignment views and effective state. */
  private derive (taskId: string): void {
    const slot = this.slots.get(taskId)
    const record = slot?.record
    const docs = [...(this.byTask.get(taskId) ?? [])].map(id => this.raw.get(id)).filter((a): a is DocAssignment => a !== undefined)
    const claims = docs.map(toClaimView).filter((c): c is ClaimView => c !== null)
    if (claims.length > 0) this.claimsByTask.set(taskId, claims)
    else this.claimsByTask.delete(taskId)
    const winner = record === undefined ? null : claimWinner(claims, record.attempt)
    for (const old of this.assignmentsByTask.get(taskId) ?? []) this.assignments.delete(old.id)
    const views = docs.map(a => assignmentView(a, assignmentState(a, toClaimView(a), winner, record)))
    if (views.length > 0) this.assignmentsByTask.set(taskId, views)
    else this.assignmentsByTask.delete(taskId)
    for (const v of views) this.assignments.set(v.id, v)
    if (slot === undefined || record === undefined) return
    const wa = winner === null ? undefined : this.assignments.get(winner.id)
    let status: TaskStatus = record.status
    if (record.status === 'pending' && wa !== undefined && (wa.state === 'pending' || wa.state === 'confirmed')) {
      status = wa.state === 'confirmed' ? 'in_progress' : 'claimed'
    }
    slot.state = {
      ...taskView(record),
      status,
      failures: record.failures,
      notBefore: record.notBefore,
      assignee: wa?.agentId ?? null,
      assignmentId: wa?.id ?? null,
      progress: wa === undefined ? null : wa.progress,
      blockedReason: null
    }
  }
}

function emptyState (t: TaskRecord): TaskState {
  return { ...taskView(t), status: t.status, failures: t.failures, notBefore: t.notBefore, assignee: null, assignmentId: null, progress: null, blockedReason: null }
}

/** The projection of a document (a one-off; nodes keep a ProjectionCache). */
export function project (doc: A.Doc<FleetDoc>): Projection {
  return new ProjectionCache(() => doc).get()
}
