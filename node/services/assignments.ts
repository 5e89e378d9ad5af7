import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { heldBy, type AssignmentView, type Projection, type ProjectionCache, type TaskState } from '../../crdt/projection.js'
import { nextClaimClock } from '../../crdt/rules/claims.js'
import { addClaim, completeAssignment, confirmClaim, endAttempt, writeProgress, type EndAttempt } from '../../crdt/mutations/assignments.js'
import { IdSchema } from '../../plan/schema.js'
import type { CoordinationSettings } from '../coord/settings.js'
import { ClaimRefusedError, ConflictError, FencedError, NotCaughtUpError, NotFoundError } from '../../crdt/errors.js'
import { Backoff, sleep } from '../../bootstrap/backoff.js'
import type { AgentService } from './agents.js'
import type { TaskService } from './tasks.js'

/** How long a claim waits for changes its live peers announced before answering 503. */
export const DEFAULT_CATCH_UP_MS = 2000
/** Re-checks during that wait: 10 ms first (changes in flight usually land that fast), backing off to 200 ms. */
const CATCH_UP_BACKOFF = { baseMs: 10, maxMs: 200 }

export const AssignmentId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._-]+$/)

export const ClaimInput = z.object({ taskId: IdSchema, agentId: IdSchema }).strict()
export type ClaimInput = z.infer<typeof ClaimInput>

export const ProgressInput = z.object({
  percent: z.number().int().min(0).max(100),
  message: z.string().max(2000).optional()
}).strict()
export type ProgressInput = z.infer<typeof ProgressInput>

export const CompleteInput = z.object({ summary: z.string().max(20_000).default('') }).strict()
export type CompleteInput = z.infer<typeof CompleteInput>

export const FailInput = z.object({ reason: z.string().min(1).max(20_000) }).strict()
export type FailInput = z.infer<typeof FailInput>

/** Fencing: the assignment no longer (or never did) own its task; the message names the winner if known. */
export function fencedError (a: AssignmentView | undefined, id: string, winner?: AssignmentView): FencedError {
  return new FencedError(id, a?.state ?? 'unknown', a === undefined
    ? `assignment ${id} is unknown`
    : `assignment ${id} is ${a.state}${a.state === 'lost' && winner !== undefined ? ` (task ${a.taskId} belongs to assignment ${winner.id} of agent ${winner.agentId})` : ''}`)
}

export interface AssignmentServiceInit {
  store: DocStore
  projection: ProjectionCache
  tasks: TaskService
  agents: AgentService
  nodeId: string
  settings: CoordinationSettings
  /** Node ids of live peers with the heads each last announced. */
  livePeers: () => Array<{ nodeId: string, heads: string[] }>
  /** When the node started (default: when this service is constructed). */
  startedAt?: number
  /** The clock (epoch ms) writes are stamped with; default Date.now. */
  now?: () => number
  /** The merge-queue entries of an assignment, from the merge-queue index (complete() asks instead of scanning the queue). */
  mergeEntriesOf: (assignmentId: string) => ReadonlyArray<{ state: string }>
  /** Whether a task is already merged through some entry, from the same index. */
  taskMerged: (taskId: string) => boolean
}

export interface AssignmentServiceEvents {
  /** A claim was written on this node; the settler tracks it until confirmed or lost. */
  claimed: [{ assignmentId: string, hash: string | null }]
}

/**
 * Claims and everything an assignment does afterwards. Writes are checked against the local
 * projection (fencing): only the winning, confirmed assignment of a task's current attempt may
 * report progress, complete, fail or attach evidence.
 */
export class AssignmentService extends EventEmitter<AssignmentServiceEvents> {
  private readonly lastProgressWrite = new Map<string, number>()
  private readonly pendingProgress = new Map<string, { percent: number, message: string | null, timer: NodeJS.Timeout }>()

  /** When this service started (the node's start): claims wait out settings.joinGraceMs from here. */
  private readonly startedAt: number
  private readonly now: () => number

  constructor (private readonly init: AssignmentServiceInit) {
    super()
    this.now = init.now ?? Date.now
    this.startedAt = init.startedAt ?? this.now()
  }

  private view (): Projection {
    return this.init.projection.get()
  }

  get (id: string): AssignmentView {
    const a = this.view().assignments.get(id)
    if (a === undefined) throw new NotFoundError(`assignment ${id} not found`, { assignmentId: id })
    const p = this.pendingProgress.get(id)
    return p === undefined ? a : { ...a, progress: p.percent, message: p.message ?? a.message }
  }

  forAgent (agentId: string): AssignmentView[] {
    return this.view().assignmentIndex.forAgent(agentId).sort((a, b) => a.claimedAt - b.claimedAt || (a.id < b.id ? -1 : 1))
  }

  /**
   * Records a claim. Everything the claim is decided on (the checks and, above all, its Lamport
   * clock) is read from the projection in the same synchronous step that writes the change, after
   * the catch-up wait: a view taken before an await can miss a competing claim that arrived during
   * it, and a claim written with that view's clock could then sort before a claim it had in its
   * history, which breaks the settle rule's argument (issue 17: two agents told `confirmed`).
   */
  async claim (input: ClaimInput): Promise<AssignmentView> {
    // Cheap refusals first, so a hopeless claim does not wait for the catch-up.
    this.checkClaim(this.view(), input, this.now())
    await this.caughtUp()
    const now = this.now()
    const view = this.view()
    const task = this.checkClaim(view, input, now)
    // From here to the change there is no await: the clock counts every claim this replica holds.
    const clock = nextClaimClock(view.claimsByTask.get(input.taskId) ?? [])
    const id = randomUUID()
    // Lamport clock over the task's claims: a claim made after seeing another one sorts after it.
    const claim = { id, taskId: input.taskId, agentId: input.agentId, nodeId: this.init.nodeId, attempt: task.attempt, clock }
    const { hash } = await this.init.store.commit((d) => { addClaim(d, claim, now) }, `claim ${input.taskId} for ${input.agentId}`)
    this.emit('claimed', { assignmentId: id, hash })
    return this.get(id)
  }

  /** Whether the agent may claim the task on this view; returns the task or throws why not. */
  private checkClaim (view: Projection, input: ClaimInput, now: number): TaskState {
    const agent = this.init.agents.get(input.agentId)
    const task = view.taskById.get(input.taskId)
    if (task === undefined) throw new NotFoundError(`task ${input.taskId} not found`, { taskId: input.taskId })
    const holding = heldBy(view, input.agentId)
    if (holding !== undefined) throw new ClaimRefusedError(`agent ${input.agentId} already holds assignment ${holding.id} (task ${holding.taskId})`, { assignmentId: holding.id })
    if (task.status !== 'pending') {
      throw new ClaimRefusedError(`task ${task.id} is ${task.status}${task.assignee === null ? '' : ` (assignee ${task.assignee})`}${task.blockedReason === null ? '' : `: ${task.blockedReason}`}`, { status: task.status, assignee: task.assignee })
    }
    if (task.role !== null && task.role !== agent.role) throw new ClaimRefusedError(`task ${task.id} is for role ${task.role}, agent ${agent.id} is ${agent.role}`, { role: task.role })
    const notDone = task.dependsOn.filter(d => view.taskById.get(d)?.status !== 'done')
    if (notDone.length > 0) throw new ClaimRefusedError(`task ${task.id} waits for ${notDone.join(', ')}`, { waitingFor: notDone })
    if (task.notBefore > now) throw new ClaimRefusedError(`task ${task.id} is backing off after a failed attempt until ${new Date(task.notBefore).toISOString()}`, { notBefore: task.notBefore })
    return task
  }

  /**
   * A claim made before this node holds what its live peers announced could ignore their claims;
   * changes in flight usually land within milliseconds, so wait a little before refusing.
   *
   * Two more ways to claim on a stale view, both after a start or restart: a peer we are connected
   * to but have not heard announce yet (its heads are unknown, so "nothing missing" proves
   * nothing), and the first announcements not having arrived at all. So a claim also waits until
   * every live peer has announced and the node has been up for `joinGraceMs` (two announcement
   * periods): by then each peer's latest announcement was sent after anything it confirmed without
   * knowing us, and holding what it announced means holding those claims.
   */
  private async caughtUp (): Promise<void> {
    const graceEnds = this.startedAt + this.init.settings.joinGraceMs
    const deadline = Math.max(this.now() + DEFAULT_CATCH_UP_MS, graceEnds + 100)
    const backoff = new Backoff(CATCH_UP_BACKOFF)
    for (;;) {
      const now = this.now()
      const behind = this.init.livePeers().find(p => p.heads.length === 0 || this.init.store.missingDeps(p.heads).length > 0)
      if (behind === undefined && now >= graceEnds) return
      if (now >= deadline) throw new NotCaughtUpError(behind?.nodeId ?? null)
      await sleep(Math.min(backoff.next(), Math.max(1, deadline - now)))
    }
  }

  /** Writes confirmedAt once the settle rule confirmed the claim (called by the settler). */
  async confirm (id: string): Promise<void> {
    const now = this.now()
    await this.init.store.change((d) => { confirmClaim(d, id, now) }, `confirm ${id}`)
  }

  private requireConfirmed (id: string): AssignmentView {
    const view = this.view()
    const a = view.assignments.get(id)
    if (a === undefined || a.state !== 'confirmed') {
      const winner = a === undefined ? undefined : [...(view.assignmentsByTask.get(a.taskId) ?? [])].find(x => x.state === 'confirmed' || x.state === 'pending' || x.state === 'completed')
      throw fencedError(a, id, winner)
    }
    return a
  }

  /**
   * Progress is monotonic and throttled: at most one document write per assignment per
   * settings.progressThrottleMs (the latest value wins; 100% is written at once). This is the one
   * progress throttle: agents only coalesce their calls (node/agents/progress-reporter.ts).
   */
  async progress (id: string, input: ProgressInput): Promise<AssignmentView> {
    const a = this.requireConfirmed(id)
    const current = this.pendingProgress.get(id)?.percent ?? a.progress
    if (input.percent < current) throw new ConflictError(`progress of ${id} is already ${current}%; it does not go back to ${input.percent}%`, { progress: current })
    const message = input.message ?? null
    const last = this.lastProgressWrite.get(id) ?? 0
    const wait = last + this.init.settings.progressThrottleMs - this.now()
    if (wait > 0 && input.percent < 100) {
      const prev = this.pendingProgress.get(id)
      if (prev !== undefined) clearTimeout(prev.timer)
      const timer = setTimeout(() => {
        this.flushProgress(id).catch(() => { /* fenced meanwhile: nothing to write */ })
      }, wait)
      this.pendingProgress.set(id, { percent: input.percent, message, timer })
      return this.get(id)
    }
    await this.writeProgress(id, input.percent, message)
    return this.get(id)
  }

  private async flushProgress (id: string): Promise<void> {
    const p = this.pendingProgress.get(id)
    if (p === undefined) return
    this.pendingProgress.delete(id)
    if (this.view().assignments.get(id)?.state !== 'confirmed') return
    await this.writeProgress(id, p.percent, p.message)
  }

  private async writeProgress (id: string, percent: number, message: string | null): Promise<void> {
    const p = this.pendingProgress.get(id)
    if (p !== undefined) {
      clearTimeout(p.timer)
      this.pendingProgress.delete(id)
    }
    this.lastProgressWrite.set(id, this.now())
    // Progress only moves forward (the mutation checks on the document): safe to group.
    await this.init.store.groupChange((d) => { writeProgress(d, id, percent, message) }, `progress ${id}`)
  }

  async complete (id: string, input: CompleteInput): Promise<AssignmentView> {
    const a = this.requireConfirmed(id)
    this.dropPendingProgress(id)
    const now = this.now()
    // Work waiting in the merge queue is in review until the leader merges it (index lookup, not a queue scan).
    const inReview = this.init.mergeEntriesOf(id).some(e => e.state !== 'ejected' && e.state !== 'merged')
    const merged = this.init.taskMerged(a.taskId)
    await this.init.store.change((d) => { completeAssignment(d, { id, taskId: a.taskId, summary: input.summary, inReview, merged }, now) }, `complete ${id}`)
    return this.get(id)
  }

  async fail (id: string, input: FailInput): Promise<AssignmentView> {
    const a = this.requireConfirmed(id)
    this.dropPendingProgress(id)
    await this.end({ assignment: a, state: 'failed', reason: `attempt ${a.attempt + 1} failed: ${input.reason}`, countsAsFailure: true }, `fail ${id}`)
    return this.get(id)
  }

  /**
   * The agent gives the task back (shutdown, trouble, a restart): a new attempt, not counted as a
   * failure. `reason` (e.g. "agent restarted") is kept after the agent's name.
   */
  async release (id: string, reason?: string): Promise<AssignmentView> {
    const a = this.view().assignments.get(id)
    if (a === undefined) throw new NotFoundError(`assignment ${id} not found`, { assignmentId: id })
    if (a.state !== 'pending' && a.state !== 'confirmed' && a.state !== 'lost') throw fencedError(a, id)
    this.dropPendingProgress(id)
    await this.end({ assignment: a, state: 'released', reason: `released by agent ${a.agentId}${reason === undefined ? '' : `: ${reason}`}`, countsAsFailure: false }, `release ${id}`)
    return this.get(id)
  }

  /** Lease expiry (called by the lease monitor on any node; idempotent). */
  async expire (a: AssignmentView, reason: string): Promise<void> {
    this.dropPendingProgress(a.id)
    await this.end({ assignment: a, state: 'expired', reason, countsAsFailure: true }, `expire ${a.id}`)
  }

  private async end (e: EndAttempt, message: string): Promise<void> {
    const now = this.now()
    await this.init.store.change((d) => { endAttempt(d, e, this.init.settings, now) }, message)
  }

  /** Local claims not yet confirmed (for the settler after a restart). */
  localPending (): AssignmentView[] {
    const view = this.view()
    const out: AssignmentView[] = []
    for (const id of view.assignmentIndex.pending) {
      const a = view.assignments.get(id)
      if (a?.nodeId === this.init.nodeId) out.push(a)
    }
    return out
  }

  private dropPendingProgress (id: string): void {
    const p = this.pendingProgress.get(id)
    if (p !== undefined) clearTimeout(p.timer)
    this.pendingProgress.delete(id)
  }
}
