import { FencedError } from '../../crdt/errors.js'
import type { TaskView } from '../../crdt/views.js'

/**
 * What an agent worker needs from its node. The node implements it over its local services
 * (document, claims, merge queue); the worker knows nothing of the document or the network.
 * Every method may throw; FencedError has a meaning of its own (see below), anything else is
 * treated as a transient failure and retried with backoff.
 */

/**
 * What a worker reads of a task (the API's Task JSON has it): `attempt` is the attempt a claim is
 * for, `reason` why the previous attempt ended (ejected merge with its conflict, failure...) or null.
 */
export const WORK_TASK_FIELDS = ['id', 'title', 'description', 'acceptance', 'role', 'attempt', 'reason'] as const
export type WorkTask = Pick<TaskView, typeof WORK_TASK_FIELDS[number]>

export interface AgentInfo {
  id: string
  name: string
  role: string
  capabilities: string[]
}

export interface Claim {
  assignmentId: string
}

export type Confirmation = 'confirmed' | 'lost'

/** An assignment the agent still holds in the document from before it (re)started. */
export interface HeldAssignment {
  assignmentId: string
  taskId: string
  /**
   * Its work is already pushed and queued for merge (the agent died between queueing and
   * completing): completing it resumes it; anything else is given back.
   */
  queuedForMerge: boolean
}

/** Kinds as in `POST /api/evidence`. */
export type EvidenceKind = 'test-output' | 'commit' | 'diff-stat' | 'log' | 'link'

export interface EvidenceItem {
  kind: EvidenceKind
  content: string
}

export interface MergeRequest {
  taskId: string
  assignmentId: string
  /** `fleet/<taskId>` on the shared remote. */
  branch: string
  /** The tip the agent pushed: the merge runner merges exactly this commit, never a later overwrite. */
  commit: string
}

/**
 * The assignment is no longer the task's live one (lost to another claim, lease expired, ended):
 * the worker drops the task at once and writes nothing more for it. The node's services throw
 * the same class (crdt/errors.ts), so the local coordinator passes it through untranslated; the
 * HTTP coordinator makes one from a 409 that names the assignment's state.
 */
export { FencedError }

export function isFencedError (err: unknown): err is FencedError {
  return err instanceof FencedError
}

export interface AgentCoordinator {
  /** Makes the agent known (idempotent: called again after a restart with the same id). */
  register: (agent: AgentInfo) => Promise<void>
  /**
   * Assignments of this agent, made from this node, that are still live (pending or confirmed) in
   * the document. Right after start these can only be left over from before a crash: the worker
   * gives them back (or completes one already queued for merge) instead of waiting out the lease.
   */
  held: (agent: AgentInfo) => Promise<HeldAssignment[]>
  /**
   * The best task available to the agent's role right now (the order of
   * `GET /api/tasks/available?role=`), or null. No side effects.
   */
  pickTask: (agent: AgentInfo) => Promise<WorkTask | null>
  /**
   * Writes a claim of `task` (for `task.attempt`) by the agent. null when the claim is refused
   * (taken, attempt moved, cancelled, the agent still holds a task, the node is catching up): the
   * worker backs off (with jitter) before it picks again.
   */
  claim: (agent: AgentInfo, task: WorkTask) => Promise<Claim | null>
  /**
   * Resolves 'confirmed' once the claim settled as the winner (confirmedAt set): only then does
   * the worker start. 'lost' when another claim won or the assignment ended. When `signal`
   * aborts it resolves 'lost' (or rejects) promptly; the worker then releases the claim.
   */
  waitConfirmed: (assignmentId: string, signal: AbortSignal) => Promise<Confirmation>
  /**
   * Agent liveness, and the lease of `assignmentId` if given. Ephemeral (not document history).
   * Called every heartbeat interval, idle or not; errors are logged and ignored.
   */
  heartbeat: (agentId: string, assignmentId: string | null) => Promise<void>
  /** Latest progress 0-100 (the worker coalesces calls; the node throttles document writes). FencedError when fenced. */
  progress: (assignmentId: string, percent: number, message: string | null) => Promise<void>
  /** Records evidence for the assignment's task. FencedError when fenced. */
  submitEvidence: (assignmentId: string, items: EvidenceItem[]) => Promise<void>
  /**
   * Queues the pushed branch for merge with the task's priority. Idempotent per assignmentId
   * (a retry after an error must not add a second entry). FencedError when fenced.
   */
  enqueueMerge: (request: MergeRequest) => Promise<void>
  /** Ends the assignment as completed; the task waits in review until its merge. FencedError when fenced. */
  complete: (assignmentId: string, summary: string) => Promise<void>
  /**
   * Ends the attempt as failed with `reason` (counted: the coordinator retries the task with the
   * reason visible, or fails it after N attempts). FencedError when fenced.
   */
  fail: (assignmentId: string, reason: string) => Promise<void>
  /**
   * Gives the task back: pending again at once, NOT counted as a failure (shutdown, git or
   * network trouble). Idempotent; releasing an assignment that already ended changes nothing
   * (it may throw FencedError, which the worker ignores).
   */
  release: (assignmentId: string, reason: string) => Promise<void>
}
