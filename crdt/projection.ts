import * as A from '@automerge/automerge'
import { AssignmentIndex, type AssignmentState, type AssignmentView } from './assignment-index.js'
import { getIn, valuesOf } from './collections.js'
import type { SchedStatus } from './rules/availability.js'
import { BlockingIndex, type BlockInfo, type BlockNode } from './rules/blocking.js'
import { ChainIndex } from './rules/chains.js'
import { claimWinner, toClaimView, type ClaimView } from './rules/claims.js'
import { read, readOpt, type DocAssignment, type FleetDoc, type TaskStatus } from './schema.js'
import { TaskIndex } from './task-index.js'
import { allTasks, readTask, type TaskRecord } from './task-records.js'
import type { TaskView } from './views.js'

export { ASSIGNMENT_STATES, type AssignmentState, type AssignmentView } from './assignment-index.js'

/**
 * The cluster as the API shows it: tasks with their effective status and winning assignment,
 * assignments with their effective state. A pure function of the document, so every replica with
 * the same heads shows the same thing.
 *
 * It is maintained from each change's patches: only the tasks and assignments a change touched
 * are re-read, blocking is re-derived through the reverse-dependency index for the tasks whose
 * blocking can change (crdt/rules/blocking.ts), downstream chains for the tasks upstream of a
 * changed spec (crdt/rules/chains.ts), and the indexes (plan order, counts, ready tasks per role in
 * urgency order, assignments per agent) are updated in place. A full rebuild runs at load and on a
 * patch it cannot place, and gives the identical result (test/unit/projection).
 */

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
  /** Tasks in plan order (priority does not reorder the board), counts, ready tasks per role. */
  tasks: TaskIndex<TaskState>
  taskById: ReadonlyMap<string, TaskState>
  /** Hours of the longest chain of work each task starts, itself included (none for cancelled tasks). */
  downstream: ReadonlyMap<string, number>
  assignments: ReadonlyMap<string, AssignmentView>
  assignmentsByTask: ReadonlyMap<string, readonly AssignmentView[]>
  claimsByTask: ReadonlyMap<string, readonly ClaimView[]>
  /** Assignments by agent, held ones, pending ones. */
  assignmentIndex: AssignmentIndex
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
  return view.assignmentIndex.heldBy(agentId)
}

/**
 * A task's state as the API shows it. Written out field by field (not spread): every task object
 * then has one shape, which keeps 100,000 of them small and their reads fast.
 */
function taskState (t: TaskView & { failures: number, notBefore: number }, status: TaskStatus, holder: Pick<TaskState, 'assignee' | 'assignmentId' | 'progress'>, blocked?: BlockInfo): TaskState {
  return {
    id: t.id,
    title: t.title,
    epic: t.epic,
    description: t.description,
    estimatedHours: t.estimatedHours,
    role: t.role,
    dependsOn: t.dependsOn,
    priority: t.priority,
    acceptance: t.acceptance,
    order: t.order,
    status,
    attempt: t.attempt,
    reason: blocked === undefined ? t.reason : t.reason ?? blocked.reason,
    source: t.source,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt === 0 ? t.createdAt : t.updatedAt,
    failures: t.failures,
    notBefore: t.notBefore,
    assignee: holder.assignee,
    assignmentId: holder.assignmentId,
    progress: holder.progress,
    blockedReason: blocked?.reason ?? null
  }
}

const NO_HOLDER = { assignee: null, assignmentId: null, progress: null } as const
const EMPTY_IDS: ReadonlySet<string> = new Set()

/** The task as shown: blocking applied to its effective state (only a pending task can be blocked). */
function withBlocking (base: TaskState, info: BlockInfo | undefined): TaskState {
  if (info === undefined || base.status !== 'pending') return base
  return taskState(base, 'blocked', base, info)
}

function blockNode (t: TaskState): BlockNode {
  return { status: t.status as SchedStatus, dependsOn: t.dependsOn }
}

function sameDeps (a: TaskState, b: TaskState): boolean {
  return a.dependsOn.length === b.dependsOn.length && a.dependsOn.every((d, i) => d === b.dependsOn[i])
}

function sameBlockNode (a: TaskState | undefined, b: TaskState | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.status === b.status && sameDeps(a, b)
}

/** A task's weight in the downstream chains: none once cancelled (it will never run) or gone. */
function chainWeight (t: TaskState | undefined): number | undefined {
  return t === undefined || t.status === 'cancelled' ? undefined : t.estimatedHours
}

export class ProjectionCache {
  /** Effective state before blocking, per task. */
  private readonly bases = new Map<string, TaskState>()
  private readonly raw = new Map<string, DocAssignment>()
  private readonly rawByTask = new Map<string, Set<string>>()
  private readonly claims = new Map<string, ClaimView[]>()
  private readonly assignmentIndex = new AssignmentIndex()
  private blocking = new BlockingIndex()
  private chains = new ChainIndex(this.blocking)
  private index = new TaskIndex<TaskState>(this.chains.scores)
  private readonly dirtyTasks = new Set<string>()
  private readonly dirtyAssignments = new Set<string>()
  private full = true
  private readonly view: Projection
  /**
   * What maintaining the projection cost so far: full rebuilds (load, patches it could not place),
   * incremental updates, steps (tasks re-derived, blocking visits, chain steps, readiness checks),
   * the chain steps alone (spec changes only) and time.
   */
  readonly stats = { rebuilds: 0, updates: 0, work: 0, chainWork: 0, ms: 0 }

  constructor (private readonly docOf: () => A.Doc<FleetDoc>) {
    this.view = { heads: '', tasks: this.index, taskById: this.index.byId, downstream: this.chains.scores, assignments: this.assignmentIndex.byId, assignmentsByTask: this.assignmentIndex.byTask, claimsByTask: this.claims, assignmentIndex: this.assignmentIndex }
  }

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

  /** The projection of the current document. The object is updated in place on later calls. */
  get (): Projection {
    const doc = this.docOf()
    const heads = A.getHeads(doc).join(',')
    if (!this.full && this.dirtyTasks.size === 0 && this.dirtyAssignments.size === 0) {
      this.view.heads = heads
      return this.view
    }
    const t0 = performance.now()
    const wasFull = this.full
    if (wasFull) this.stats.rebuilds++
    else this.stats.updates++
    this.stats.work += this.full ? this.rebuild(doc) : this.apply(this.collect(doc))
    this.dirtyTasks.clear()
    this.dirtyAssignments.clear()
    this.full = false
    this.view.heads = heads
    this.stats.ms += performance.now() - t0
    return this.view
  }

  /** Re-derives the touched tasks, then blocking and every index for what changed; returns the steps taken. */
  private apply (touched: Map<string, TaskRecord | undefined>): number {
    let work = 0
    const blockChanges = new Map<string, BlockNode | undefined>()
    const weights = new Map<string, number | undefined>()
    const staleChains = new Set<string>()
    for (const [id, record] of touched) {
      const before = this.bases.get(id)
      const after = this.derive(id, record)
      work++
      if (!sameBlockNode(before, after)) blockChanges.set(id, after === undefined ? undefined : blockNode(after))
      // Chains read hours, dependencies and cancellation only: claims and progress skip this.
      if (chainWeight(before) !== chainWeight(after) || before === undefined || after === undefined || !sameDeps(before, after)) {
        weights.set(id, chainWeight(after))
        staleChains.add(id)
        // A dependency this task no longer lists loses it as a dependent.
        for (const d of before?.dependsOn ?? []) staleChains.add(d)
      }
    }
    const reblocked = this.blocking.apply(blockChanges)
    work += this.blocking.lastWork
    const rechained = staleChains.size === 0 ? EMPTY_IDS : this.chains.apply(weights, staleChains)
    if (staleChains.size > 0) {
      work += this.chains.lastWork
      this.stats.chainWork += this.chains.lastWork
    }
    const readyCheck = new Set<string>()
    const show = (id: string): void => {
      const base = this.bases.get(id)
      const old = this.index.byId.get(id)
      const next = base === undefined ? undefined : withBlocking(base, this.blocking.get(id))
      this.index.put(id, next)
      readyCheck.add(id)
      // Readiness of dependents turns on this task being done.
      if (old === undefined || next === undefined || (old.status === 'done') !== (next.status === 'done')) {
        for (const dep of this.blocking.dependentsOf(id)) readyCheck.add(dep)
      }
    }
    for (const id of touched.keys()) show(id)
    for (const id of reblocked) if (!touched.has(id)) show(id)
    // A new chain figure re-keys the task in the ready index (if it is ready).
    for (const id of rechained) readyCheck.add(id)
    for (const id of readyCheck) this.index.refreshReady(id)
    return work + readyCheck.size
  }

  /**
   * The full build (load, or a patch that could not be placed), in batch: every record read once,
   * each task derived once, blocking in one pass (BlockingIndex.build), chains in one pass
   * (ChainIndex.build), then every index filled. The same projection as apply() fed every task
   * (test/unit/projection: the incremental path against this one). Returns the steps taken.
   */
  private rebuild (doc: A.Doc<FleetDoc>): number {
    this.bases.clear()
    this.raw.clear()
    this.rawByTask.clear()
    this.claims.clear()
    this.assignmentIndex.clear()
    this.blocking = new BlockingIndex()
    this.chains = new ChainIndex(this.blocking)
    this.index = new TaskIndex<TaskState>(this.chains.scores)
    this.view.tasks = this.index
    this.view.taskById = this.index.byId
    this.view.downstream = this.chains.scores
    const records = allTasks(doc)
    for (const a of valuesOf(doc.assignments)) this.putRaw(a)
    const nodes = new Map<string, BlockNode>()
    const weights = new Map<string, number>()
    for (const [id, record] of records) {
      const base = this.derive(id, record) as TaskState
      nodes.set(id, blockNode(base))
      const w = chainWeight(base)
      if (w !== undefined) weights.set(id, w)
    }
    // Claims of tasks that are gone still have assignment views.
    for (const taskId of this.rawByTask.keys()) if (!records.has(taskId)) this.derive(taskId, undefined)
    this.blocking.build(nodes)
    this.chains.build(weights)
    this.index.load(this.shown())
    for (const id of this.bases.keys()) this.index.refreshReady(id)
    return 2 * this.bases.size + this.blocking.lastWork + this.chains.lastWork
  }

  /** Every task as shown (blocking applied), for the full build. */
  private * shown (): Generator<TaskState> {
    for (const [id, base] of this.bases) yield withBlocking(base, this.blocking.get(id))
  }

  /** The tasks the noted patches touched, with their records as they are now (undefined: gone). */
  private collect (doc: A.Doc<FleetDoc>): Map<string, TaskRecord | undefined> {
    const touched = new Map<string, TaskRecord | undefined>()
    for (const id of this.dirtyTasks) touched.set(id, readTask(doc, id))
    for (const id of this.dirtyAssignments) {
      const old = this.raw.get(id)
      if (old !== undefined) {
        const taskId = read(old.taskId)
        this.rawByTask.get(taskId)?.delete(id)
        if (this.rawByTask.get(taskId)?.size === 0) this.rawByTask.delete(taskId)
        this.raw.delete(id)
        if (!touched.has(taskId)) touched.set(taskId, readTask(doc, taskId))
      }
      const a = getIn(doc.assignments, id)
      if (a === undefined) continue
      const taskId = this.putRaw(a)
      if (!touched.has(taskId)) touched.set(taskId, readTask(doc, taskId))
    }
    return touched
  }

  private putRaw (a: DocAssignment): string {
    const id = read(a.id)
    const taskId = read(a.taskId)
    this.raw.set(id, a)
    let set = this.rawByTask.get(taskId)
    if (set === undefined) this.rawByTask.set(taskId, set = new Set())
    set.add(id)
    return taskId
  }

  /** Re-derives one task's claims, winner, assignment views and effective state (before blocking). */
  private derive (taskId: string, record: TaskRecord | undefined): TaskState | undefined {
    const ids = this.rawByTask.get(taskId)
    let winner: ClaimView | null = null
    // Most tasks have never been claimed: nothing to derive but the task itself.
    if (ids !== undefined || this.assignmentIndex.byTask.has(taskId) || this.claims.has(taskId)) {
      const docs: DocAssignment[] = []
      for (const id of ids ?? []) {
        const a = this.raw.get(id)
        if (a !== undefined) docs.push(a)
      }
      const claims = docs.map(toClaimView).filter((c): c is ClaimView => c !== null).sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
      if (claims.length > 0) this.claims.set(taskId, claims)
      else this.claims.delete(taskId)
      winner = record === undefined ? null : claimWinner(claims, record.attempt)
      this.assignmentIndex.setTask(taskId, docs.map(a => assignmentView(a, assignmentState(a, toClaimView(a), winner, record))))
    }
    if (record === undefined) {
      this.bases.delete(taskId)
      return undefined
    }
    const wa = winner === null ? undefined : this.assignmentIndex.byId.get(winner.id)
    let status: TaskStatus = record.status
    if (record.status === 'pending' && wa !== undefined && (wa.state === 'pending' || wa.state === 'confirmed')) {
      status = wa.state === 'confirmed' ? 'in_progress' : 'claimed'
    }
    const state = taskState(record, status, wa === undefined ? NO_HOLDER : { assignee: wa.agentId, assignmentId: wa.id, progress: wa.progress })
    this.bases.set(taskId, state)
    return state
  }
}

/** The projection of a document (a one-off full build; nodes keep a ProjectionCache). */
export function project (doc: A.Doc<FleetDoc>): Projection {
  return new ProjectionCache(() => doc).get()
}
