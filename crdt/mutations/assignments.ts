import type { AssignmentView } from '../assignment-index.js'
import { getIn, putIn } from '../collections.js'
import { ClaimRefusedError, NotFoundError } from '../errors.js'
import { nextAttemptOutcome, retryBackoffMs } from '../rules/leases.js'
import { read, str, type FleetDoc } from '../schema.js'
import { readTask, writeTaskState } from '../task-records.js'

/**
 * Writes of assignments: pure functions of (document draft, input, now), run inside one
 * Automerge change by the caller. No clock and no I/O here: `now` is passed in, so two nodes
 * applying the same rule with the same inputs write the same values, and tests choose the time.
 */

/**
 * A claim to record: `attempt` is the task's attempt it was decided on, `clock` its Lamport clock
 * over the task's claims (crdt/rules/claims.ts nextClaimClock).
 */
export type NewClaim = Pick<AssignmentView, 'id' | 'taskId' | 'agentId' | 'nodeId' | 'attempt' | 'clock'>

/**
 * Records a claim, unless the task moved on (another attempt, or gone) since the claim was
 * decided: then ClaimRefusedError and nothing is written.
 */
export function addClaim (d: FleetDoc, c: NewClaim, now: number): void {
  const t = readTask(d, c.taskId)
  if (t === undefined || t.attempt !== c.attempt) throw new ClaimRefusedError(`task ${c.taskId} moved on while claiming`, { taskId: c.taskId })
  putIn(d.assignments, c.id, {
    id: str(c.id),
    taskId: str(c.taskId),
    agentId: str(c.agentId),
    nodeId: str(c.nodeId),
    attempt: t.attempt,
    clock: c.clock,
    claimedAt: now,
    confirmedAt: null,
    state: str('active'),
    progress: 0,
    message: null,
    summary: null,
    endedAt: null,
    reason: null
  })
}

/** Marks a claim confirmed (once: a later confirmation keeps the first time). */
export function confirmClaim (d: FleetDoc, id: string, now: number): void {
  const a = getIn(d.assignments, id)
  if (a !== undefined && a.confirmedAt === null && read(a.state) === 'active') a.confirmedAt = now
}

/** Progress only moves forward; a message replaces the previous one. */
export function writeProgress (d: FleetDoc, id: string, percent: number, message: string | null): void {
  const a = getIn(d.assignments, id)
  if (a === undefined) return
  if (percent > a.progress) a.progress = percent
  if (message !== null) a.message = str(message)
}

/**
 * Ends the assignment as completed. Its task is done, or in review while its work waits in the
 * merge queue (an entry of this assignment that is neither ejected nor merged yet). A task already
 * merged through another entry (an attempt begun where that merge was not yet known) stays or
 * becomes done: 'review' would wait for a merge that the leader refuses as a duplicate.
 * `inReview` and `merged` come from the caller's merge-queue index (no queue scan here).
 */
export function completeAssignment (d: FleetDoc, c: { id: string, taskId: string, summary: string, inReview: boolean, merged: boolean }, now: number): void {
  const da = getIn(d.assignments, c.id)
  if (da === undefined) throw new NotFoundError(`assignment ${c.id} not found`)
  da.state = str('completed')
  da.progress = 100
  da.summary = str(c.summary)
  da.endedAt = now
  const done = !c.inReview || c.merged || readTask(d, c.taskId)?.status === 'done'
  writeTaskState(d, c.taskId, { status: done ? 'done' : 'review', reason: null, updatedAt: now })
}

/** What ending an attempt needs of the coordination settings. */
export interface AttemptPolicy {
  maxAttempts: number
  retryBaseMs: number
  retryMaxMs: number
}

export interface EndAttempt {
  /** The assignment, as read before the change. */
  assignment: { id: string, taskId: string, attempt: number }
  state: 'failed' | 'expired' | 'released'
  reason: string
  /** Failed and expired attempts count towards maxAttempts; a release does not. */
  countsAsFailure: boolean
}

/**
 * Ends an assignment and, if it held the task's current attempt, moves the task to its next
 * attempt: counted as a failure (with backoff, and failed after maxAttempts) or not (release).
 * Idempotent, so two nodes expiring the same lease write the same values.
 */
export function endAttempt (d: FleetDoc, e: EndAttempt, policy: AttemptPolicy, now: number): void {
  const a = e.assignment
  const da = getIn(d.assignments, a.id)
  const t = readTask(d, a.taskId)
  if (da === undefined || t === undefined) return
  if (read(da.state) !== 'active') return
  da.state = str(e.state)
  da.endedAt = now
  da.reason = str(e.reason)
  if (t.attempt !== a.attempt || t.status !== 'pending') return
  if (!e.countsAsFailure) {
    writeTaskState(d, a.taskId, { attempt: a.attempt + 1, reason: e.reason, updatedAt: now })
    return
  }
  const failures = t.failures + 1
  if (nextAttemptOutcome({ failures, maxAttempts: policy.maxAttempts }) === 'failed') {
    writeTaskState(d, a.taskId, { attempt: a.attempt + 1, failures, status: 'failed', reason: `${e.reason} (${failures} of ${policy.maxAttempts} attempts failed)`, updatedAt: now })
  } else {
    writeTaskState(d, a.taskId, { attempt: a.attempt + 1, failures, notBefore: now + retryBackoffMs(failures, { baseMs: policy.retryBaseMs, maxMs: policy.retryMaxMs }), reason: e.reason, updatedAt: now })
  }
}
