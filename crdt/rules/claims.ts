import { read, type DocAssignment } from '../schema.js'
import { MixedTaskClaimsError } from './errors.js'

/**
 * The claim rule: which assignment of a task wins. It is a pure function of the claims in the
 * document, so every replica that holds the same claims names the same winner, whatever order
 * the changes arrived in.
 */

export const CLAIM_STATES = ['active', 'completed', 'released', 'expired', 'failed'] as const
export type ClaimState = typeof CLAIM_STATES[number]

/** States that still hold the task: a completed claim keeps winning so its evidence and merge stay valid. */
export const HOLDING_CLAIM_STATES: ReadonlySet<ClaimState> = new Set<ClaimState>(['active', 'completed'])

/** The first clock a claimer uses when it has seen no claim of the task. */
export const INITIAL_CLAIM_CLOCK = 1

/** A plain view of one claim (an assignment), free of Automerge types. */
export interface ClaimView {
  id: string
  taskId: string
  agentId: string
  nodeId: string
  /** The task attempt (epoch) the claim was made for. */
  attempt: number
  /** Lamport clock: 1 + the highest clock of any claim of the task the claimer had seen. */
  clock: number
  state: ClaimState
  /** When this node confirmed the claim (see settleClaim); null while pending or when not known. */
  confirmedAt: number | null
}

export type ClaimOutcome = 'winner' | 'lost' | 'stale'
export type Settlement = 'confirmed' | 'pending' | 'lost'

export function isClaimState (s: string): s is ClaimState {
  return (CLAIM_STATES as readonly string[]).includes(s)
}

/**
 * Reads a stored assignment as a ClaimView. Returns null for a state this version does not know
 * (written by a newer node): such a claim is skipped, the same on every replica running this code.
 */
export function toClaimView (a: DocAssignment): ClaimView | null {
  const state = read(a.state)
  if (!isClaimState(state)) return null
  return {
    id: read(a.id),
    taskId: read(a.taskId),
    agentId: read(a.agentId),
    nodeId: read(a.nodeId),
    attempt: a.attempt,
    clock: a.clock,
    state,
    confirmedAt: a.confirmedAt ?? null
  }
}

/** A claim that can win the current attempt. */
export function isEligible (claim: ClaimView, taskAttempt: number): boolean {
  return claim.attempt === taskAttempt && HOLDING_CLAIM_STATES.has(claim.state)
}

/** A corrupt clock sorts last instead of making the comparison order-dependent (NaN compares false). */
function clockKey (clock: number): number {
  return Number.isFinite(clock) ? clock : Number.POSITIVE_INFINITY
}

/**
 * Total order on claims: smaller clock first, then smaller id. Ids compare by UTF-16 code units,
 * not localeCompare, which could differ between nodes with different locales or ICU data.
 */
export function compareClaims (a: ClaimView, b: ClaimView): number {
  const ca = clockKey(a.clock)
  const cb = clockKey(b.clock)
  if (ca !== cb) return ca < cb ? -1 : 1
  if (a.id === b.id) return 0
  return a.id < b.id ? -1 : 1
}

function checkOneTask (claims: readonly ClaimView[]): void {
  let taskId: string | undefined
  for (const c of claims) {
    if (taskId === undefined) taskId = c.taskId
    else if (c.taskId !== taskId) throw new MixedTaskClaimsError(taskId, c.taskId)
  }
}

/**
 * The winner among the claims of one task for its current attempt: the holding claim
 * (active or completed) with the smallest (clock, id), or null when there is none.
 */
export function claimWinner (claims: readonly ClaimView[], taskAttempt: number): ClaimView | null {
  checkOneTask(claims)
  let best: ClaimView | null = null
  for (const c of claims) {
    if (!isEligible(c, taskAttempt)) continue
    if (best === null || compareClaims(c, best) < 0) best = c
  }
  return best
}

/**
 * The clock for a new claim of a task: 1 + the highest clock among every claim of the task this
 * replica has seen, of any attempt and state. A claim made after seeing a winner therefore has a
 * larger clock than it and can never displace it.
 */
export function nextClaimClock (claimsOfTask: readonly ClaimView[]): number {
  checkOneTask(claimsOfTask)
  let max = INITIAL_CLAIM_CLOCK - 1
  for (const c of claimsOfTask) {
    if (Number.isFinite(c.clock) && c.clock > max) max = c.clock
  }
  return Math.floor(max) + 1
}

/**
 * How one claim stands: 'winner', 'lost' (current attempt, still holding, but another claim wins)
 * or 'stale' (an older attempt, or released, expired or failed). A claim naming a later attempt
 * than the task is also stale: the attempt bump is causally before any claim for it, so this only
 * happens with a task view older than the claim.
 */
export function claimOutcome (claim: ClaimView, winner: ClaimView | null, taskAttempt: number): ClaimOutcome {
  if (!isEligible(claim, taskAttempt)) return 'stale'
  return winner !== null && winner.id === claim.id ? 'winner' : 'lost'
}

export interface SettleClaimInput {
  /** claimWinner names this claim on this replica. */
  isWinner: boolean
  /** Live peer node ids whose announced heads include the claim's change. */
  claimChangeAckedBy: ReadonlySet<string>
  /** The other live nodes (not this one). */
  livePeers: ReadonlySet<string>
  /** This node lacks changes some live peer announced. */
  missingDeps: boolean
}

/**
 * Whether a claim is confirmed, so its agent may start work.
 *
 * Confirmed when this replica sees the claim winning, every live peer has announced heads that
 * include the claim's change, and this replica holds every change those peers announced.
 *
 * Why this is sound without partitions: take any competing claim C' by a peer P. If P made C'
 * after it received our claim C, C' has a larger clock (nextClaimClock) and loses. If P made it
 * before, C' is in P's history below the heads P announced with C in them, and since we lack none
 * of the announced changes, C' is already in our replica and isWinner counted it. Claims made
 * later by anyone who has seen C lose the same way, so a confirmed claim stays the winner until
 * its attempt ends. missingDeps must be judged against announcements at least as new as the acks.
 * A node that has not yet caught up with its peers must not claim: its claim would be concurrent
 * with everything and could win later with a small clock (the same as a partition).
 *
 * Under a partition, livePeers is only the reachable side, so each side can confirm its own claim
 * and two agents do the same work. When the partition heals the replicas merge, every replica
 * computes the same min-(clock, id) winner, and fenceCheck stops the loser from writing progress,
 * evidence or merge entries.
 */
export function settleClaim (input: SettleClaimInput): Settlement {
  if (!input.isWinner) return 'lost'
  if (input.missingDeps) return 'pending'
  for (const peer of input.livePeers) {
    if (!input.claimChangeAckedBy.has(peer)) return 'pending'
  }
  return 'confirmed'
}

/**
 * Whether an assignment may still write progress, evidence or merge entries: null if it may,
 * else the reason. Only the winner of the current attempt writes; a completed winner still may,
 * since its evidence and merge entry come after completion.
 */
export function fenceCheck (assignment: ClaimView | null | undefined, winner: ClaimView | null, taskAttempt: number): string | null {
  if (assignment === null || assignment === undefined) return 'unknown assignment'
  if (assignment.attempt !== taskAttempt) return 'assignment from an older attempt'
  switch (assignment.state) {
    case 'expired': return 'assignment expired'
    case 'released': return 'assignment released'
    case 'failed': return 'assignment failed'
    case 'active':
    case 'completed':
      break
  }
  if (winner === null) return 'assignment has no winning claim'
  if (winner.id !== assignment.id) return `assignment lost to ${winner.id}`
  return null
}
