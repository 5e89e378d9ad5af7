import * as A from '@automerge/automerge'
import { blockedReasons, type SchedStatus } from '../plan/availability.js'
import { valuesOf } from './collections.js'
import { claimWinner, toClaimView, type ClaimView } from './rules/claims.js'
import { read, readOpt, type DocAssignment, type DocTask, type FleetDoc, type TaskStatus } from './schema.js'
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

function assignmentState (a: DocAssignment, claim: ClaimView | null, winner: ClaimView | null, task: DocTask | undefined): AssignmentState {
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

export function project (doc: A.Doc<FleetDoc>): Projection {
  const heads = A.getHeads(doc).join(',')
  const docTasks = new Map<string, DocTask>()
  for (const t of valuesOf(doc.tasks)) docTasks.set(read(t.id), t)

  const claimsByTask = new Map<string, ClaimView[]>()
  const docAssignments: DocAssignment[] = []
  for (const a of valuesOf(doc.assignments)) {
    docAssignments.push(a)
    const c = toClaimView(a)
    if (c === null) continue
    let list = claimsByTask.get(c.taskId)
    if (list === undefined) claimsByTask.set(c.taskId, list = [])
    list.push(c)
  }
  const winners = new Map<string, ClaimView | null>()
  for (const [taskId, claims] of claimsByTask) {
    const t = docTasks.get(taskId)
    winners.set(taskId, t === undefined ? null : claimWinner(claims, t.attempt))
  }

  const assignments = new Map<string, AssignmentView>()
  const assignmentsByTask = new Map<string, AssignmentView[]>()
  for (const a of docAssignments) {
    const taskId = read(a.taskId)
    const claim = toClaimView(a)
    const view = assignmentView(a, assignmentState(a, claim, winners.get(taskId) ?? null, docTasks.get(taskId)))
    assignments.set(view.id, view)
    let list = assignmentsByTask.get(taskId)
    if (list === undefined) assignmentsByTask.set(taskId, list = [])
    list.push(view)
  }

  const tasks: TaskState[] = []
  for (const t of docTasks.values()) {
    const base = taskView(t)
    const winner = winners.get(base.id) ?? null
    const wa = winner === null ? undefined : assignments.get(winner.id)
    const stored = read(t.status)
    let status: TaskStatus = (stored as TaskStatus)
    if (stored === 'pending' && wa !== undefined && (wa.state === 'pending' || wa.state === 'confirmed')) {
      status = wa.state === 'confirmed' ? 'in_progress' : 'claimed'
    }
    tasks.push({
      ...base,
      status,
      failures: t.failures ?? 0,
      notBefore: t.notBefore ?? 0,
      assignee: wa?.agentId ?? null,
      assignmentId: wa?.id ?? null,
      progress: wa === undefined ? null : wa.progress,
      blockedReason: null
    })
  }
  tasks.sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  // Blocking is derived last: it depends on the effective status of every dependency.
  const blocked = blockedReasons(tasks.map(t => ({ id: t.id, status: t.status as SchedStatus, dependsOn: t.dependsOn, priority: t.priority, order: t.order, role: t.role })))
  for (const t of tasks) {
    const reason = blocked.get(t.id)
    if (reason !== undefined && t.status === 'pending') {
      t.status = 'blocked'
      t.blockedReason = reason
      t.reason = t.reason ?? reason
    }
  }
  return { heads, tasks, taskById: new Map(tasks.map(t => [t.id, t])), assignments, assignmentsByTask, claimsByTask }
}

/** Recomputes the projection only when the document's heads moved. */
export class ProjectionCache {
  private cached: Projection | null = null

  constructor (private readonly docOf: () => A.Doc<FleetDoc>) {}

  get (): Projection {
    const doc = this.docOf()
    const heads = A.getHeads(doc).join(',')
    if (this.cached?.heads !== heads) this.cached = project(doc)
    return this.cached
  }
}
