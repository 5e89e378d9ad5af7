import { requirePositive } from './errors.js'

/**
 * Rotating leader for the merge queue, with no election: time is cut into terms and each node
 * computes the leader of the current term from the members it currently sees alive.
 *
 * leaderFor is recomputed continuously over the live set, so a dead leader is replaced as soon as
 * it drops out of that set, at most the liveness timeout after its last message. Rotation every
 * term spreads the work and means a leader that is alive but stuck only holds the queue for a term.
 *
 * Nodes can briefly disagree (different live sets, clock skew at a term boundary), and under a
 * partition each side elects its own leader. That is safe because the leader's only effect outside
 * the document is a push to main, and git rejects a non-fast-forward push: a stale leader's merge
 * built on an old main is refused, so main only moves forward.
 */

/** Length of a leadership term. */
export const DEFAULT_TERM_MS = 60_000
/** A member not heard from for this long is left out of the live set. */
export const DEFAULT_LIVENESS_MS = 10_000

/** The term that time now falls in. */
export function termOf (now: number, termMs: number = DEFAULT_TERM_MS): number {
  requirePositive('termMs', termMs)
  return Math.floor(now / termMs)
}

/** The half-open time range [start, end) of a term, so a leader can stop starting work near its end. */
export function termBounds (term: number, termMs: number = DEFAULT_TERM_MS): { start: number, end: number } {
  requirePositive('termMs', termMs)
  return { start: term * termMs, end: (term + 1) * termMs }
}

/**
 * The leader of a term: the live members sorted (by UTF-16 code units, not locale, so every node
 * sorts alike) and de-duplicated, then the one at index term mod n. null when nobody is live.
 */
export function leaderFor (term: number, liveMembers: readonly string[]): string | null {
  const members = [...new Set(liveMembers)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const n = members.length
  if (n === 0) return null
  const t = Math.floor(term)
  // Non-negative modulo, so a negative term (clock before the epoch) still picks a member.
  return members[((t % n) + n) % n] ?? null
}

/** Whether a member was heard from within the liveness timeout; never heard from is not live. */
export function isLiveMember (lastSeenAt: number | null, now: number, livenessMs: number = DEFAULT_LIVENESS_MS): boolean {
  requirePositive('livenessMs', livenessMs)
  if (lastSeenAt === null) return false
  return now - lastSeenAt < livenessMs
}

/** A 'merging' entry as the take-over rule sees it. */
export interface MergingEntry { leader: string | null, updatedAt: number }

/**
 * Whether the current leader (selfId) takes over a 'merging' entry: when it marked it itself,
 * nobody did, its leader is not live (crashed mid-merge), or its leader marked it over
 * `takeOverAfterMs` (a term) ago. The last case is a leader that lost its term: it finishes the
 * entry in hand, but one its merge failed on (a push race with an overlapping leader, git trouble)
 * stays 'merging' under it while it no longer leads, and with 24 nodes its turn comes back only
 * after 24 terms; those entries piled up and the queue merged about one a minute. Taking over an
 * entry another node may still be finishing is safe: merging is idempotent (a branch already on
 * main is reported merged, a task merged once is not merged again: node/git/merge-runner.ts) and
 * git refuses a non-fast-forward push; the wait of a term only avoids doing the work twice.
 */
export function takesOverMerge (e: MergingEntry, selfId: string, isLive: (node: string) => boolean, now: number, takeOverAfterMs: number): boolean {
  if (e.leader === null || e.leader === selfId || !isLive(e.leader)) return true
  return now - e.updatedAt >= takeOverAfterMs
}
