import { requirePositive } from './errors.js'

/**
 * Lifeguard's two refinements of SWIM (Dadgar, Phillips, Currey 2018; hashicorp/memberlist's
 * awareness.go and suspicion.go), the pure part. Both answer the same failure: on a loaded machine
 * a slow node reads its acks late and suspects members that are fine; each false suspicion is
 * gossiped, refuted and, when the refutation is late too, turns into a false death, a hang-up and a
 * redial, which cost more CPU and make the next probe later still (24 nodes on 2 cores collapsed
 * that way: live-member counts swinging between 7 and 22 of 23).
 *
 * Local health: a node that sees signs of its own slowness (its probes fail, it had to refute a
 * suspicion of itself, its own timers fire late) raises a score, and scales its probe timeouts
 * and probe period by (score + 1): it waits longer for acks it may be reading late, and probes less
 * often while it cannot keep up. Each ack in time lowers the score. Only the slow node's own
 * judgement changes, so detection by healthy nodes keeps its bound.
 *
 * Suspicion confirmations: a suspicion starts with a long timeout (maxMs) that shrinks, on a log
 * scale, with each other member that independently suspects the same member at the same
 * incarnation, down to minMs at k confirmations. A crashed member is probed by all its neighbours
 * within a round, so it gathers confirmations and is declared dead as fast as before; a member one
 * slow node suspects alone has several times longer to get its refutation out.
 */

/** The highest local-health score (memberlist's default awareness cap). */
export const DEFAULT_MAX_LOCAL_HEALTH = 8
/** Confirmations from other suspecters after which a suspicion runs for its shortest time (memberlist: suspicion mult 4 - 2). */
export const DEFAULT_EXPECTED_CONFIRMATIONS = 2
/** An unconfirmed suspicion lasts this many times the shortest one (memberlist uses 6; ours starts from a longer shortest). */
export const DEFAULT_SUSPICION_MAX_FACTOR = 3

/** Events that move the local-health score, and by how much. */
export const HEALTH_DELTA = {
  /** A probe was answered in time. */
  probeAcked: -1,
  /** A probe went unanswered, directly and through helpers (we may be the slow one). */
  probeFailed: 1,
  /** Someone suspected us: we were too slow to answer. */
  refuted: 1,
  /** One of our timers fired over a probe timeout late: our event loop is stalled. */
  stalled: 1
} as const

/** The score after a delta, kept within [0, max]. */
export function nextHealth (score: number, delta: number, max: number = DEFAULT_MAX_LOCAL_HEALTH): number {
  return Math.min(max, Math.max(0, score + delta))
}

/** A timeout or period scaled by the local-health score: (score + 1) times longer. */
export function scaledByHealth (ms: number, score: number): number {
  return ms * (Math.max(0, Math.floor(score)) + 1)
}

/**
 * How many confirmations a suspicion of a member can expect: at most `expected`, and no more than
 * the other live nodes that hold a session with it (its announced neighbours, less the first
 * suspecter). With none to expect (a member with one neighbour, a two-node cluster) a suspicion
 * runs for the shortest time, as before.
 */
export function expectedConfirmations (liveNeighboursOfSuspect: number, expected: number = DEFAULT_EXPECTED_CONFIRMATIONS): number {
  return Math.max(0, Math.min(expected, liveNeighboursOfSuspect - 1))
}

/**
 * The suspicion timeout after `confirmations` other suspecters when `k` are expected: from maxMs
 * with none down to minMs at k, on a log scale (memberlist's remainingSuspicionTime). Never under
 * minMs, so a suspicion always gives its member at least the old window to refute.
 */
export function suspicionTimeoutMs (minMs: number, maxMs: number, k: number, confirmations: number): number {
  requirePositive('minMs', minMs)
  if (k < 1 || maxMs <= minMs) return minMs
  const frac = Math.log(Math.max(0, confirmations) + 1) / Math.log(k + 1)
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)))
}
