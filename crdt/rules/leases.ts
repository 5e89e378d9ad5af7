import { requirePositive, requirePositiveInteger, InvalidRuleOptionError } from './errors.js'
import type { ClaimView } from './claims.js'

/**
 * Lease, retry and heartbeat rules. Times are epoch milliseconds passed in by the caller; times
 * from other nodes carry their clock skew, so durations here should stay well above the expected skew.
 */

/** How long a claim holds its task without a sign of life: three missed 30 s heartbeats. */
export const DEFAULT_LEASE_MS = 90_000
/** Failed or expired attempts after which the task fails instead of going back to pending. */
export const DEFAULT_MAX_ATTEMPTS = 3
/** First hold-back after a failed or expired attempt; doubled for each further failure. */
export const DEFAULT_RETRY_BASE_MS = 5_000
/** Cap on the hold-back, so a task is never parked for long. */
export const DEFAULT_RETRY_MAX_MS = 5 * 60_000
/** How often agents heartbeat (the earlier orchestrator's interval, kept). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000
/**
 * Heartbeats per lease, at least: a lease survives two lost or late beats, and a beat that reaches
 * other nodes only with the next presence announcement still arrives well inside the lease.
 */
export const HEARTBEATS_PER_LEASE = 3

/**
 * How often an agent heartbeats under a lease of leaseMs: the usual interval, or a third of the
 * lease when that is shorter (a 5 s lease with 30 s heartbeats would expire under a working agent).
 */
export function heartbeatIntervalFor (leaseMs: number, preferredMs: number = DEFAULT_HEARTBEAT_INTERVAL_MS): number {
  requirePositive('leaseMs', leaseMs)
  return Math.max(1, Math.min(preferredMs, Math.floor(leaseMs / HEARTBEATS_PER_LEASE)))
}

/** Two missed heartbeats: shown as stale. */
export const DEFAULT_HEARTBEAT_STALE_MS = 60_000
/** Four missed heartbeats: treated as gone. */
export const DEFAULT_HEARTBEAT_DEAD_MS = 120_000

export interface LeaseInput {
  lastHeartbeatAt: number | null
  confirmedAt: number | null
  claimedAt: number
  now: number
  leaseMs?: number
}

/**
 * Whether a claim's lease ran out: leaseMs have passed since the latest sign of life (heartbeat,
 * confirmation or the claim itself). A base time in the future (clock skew) reads as fresh.
 */
export function leaseExpired (input: LeaseInput): boolean {
  const leaseMs = requirePositive('leaseMs', input.leaseMs ?? DEFAULT_LEASE_MS)
  let base = input.claimedAt
  if (input.confirmedAt !== null && input.confirmedAt > base) base = input.confirmedAt
  if (input.lastHeartbeatAt !== null && input.lastHeartbeatAt > base) base = input.lastHeartbeatAt
  return input.now - base >= leaseMs
}

/**
 * Which nodes judge a lease by missed heartbeats. The node the claim was made through hears its
 * agent's beats without the network in between (built-in agents, and a remote agent's claims made
 * through it); while that node is live, only it expires the lease. Once it is not live (declared
 * dead or departed by the membership protocol, or never heard of), every node does, as before.
 * So a node that is slow, overloaded or partly cut off, and hears other nodes' beats late, cannot
 * take tasks from agents that are working, while a dead node's tasks still come back: at the later
 * of its lease running out and its death being known (the liveness window). Expiry stays
 * idempotent, so several judges agree.
 */
export function judgesLease (selfId: string, claimNodeId: string, claimNodeLive: boolean): boolean {
  return claimNodeId === selfId || !claimNodeLive
}

export type AttemptOutcome = 'retry' | 'failed'

export interface AttemptInput {
  /** Failed or expired attempts so far, counting the one that just ended. */
  failures: number
  maxAttempts?: number
}

/** After a failed or expired attempt: try again, or fail the task once maxAttempts have failed. */
export function nextAttemptOutcome (input: AttemptInput): AttemptOutcome {
  const maxAttempts = requirePositiveInteger('maxAttempts', input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)
  return input.failures >= maxAttempts ? 'failed' : 'retry'
}

/**
 * Failed or expired attempts of a task, counted once per attempt number: an attempt may hold
 * several claims (the winner and the losers), but it ends once. Released attempts do not count,
 * since the holder gave the task back on purpose.
 */
export function countFailedAttempts (claimsOfTask: Iterable<ClaimView>): number {
  const failed = new Set<number>()
  for (const c of claimsOfTask) {
    if (c.state === 'failed' || c.state === 'expired') failed.add(c.attempt)
  }
  return failed.size
}

export interface BackoffOptions {
  baseMs?: number
  maxMs?: number
}

/**
 * How long to hold a task back after its failures-th failed or expired attempt: baseMs doubled per
 * further failure, capped at maxMs, so a task that keeps killing agents does not churn the cluster.
 * 0 when nothing has failed.
 */
export function retryBackoffMs (failures: number, options: BackoffOptions = {}): number {
  const baseMs = requirePositive('baseMs', options.baseMs ?? DEFAULT_RETRY_BASE_MS)
  const maxMs = requirePositive('maxMs', options.maxMs ?? DEFAULT_RETRY_MAX_MS)
  if (maxMs < baseMs) throw new InvalidRuleOptionError('maxMs', maxMs, `>= baseMs (${baseMs})`)
  if (!(failures >= 1)) return 0
  // 2 ** large is Infinity, which the cap absorbs.
  return Math.min(maxMs, baseMs * 2 ** (Math.floor(failures) - 1))
}

export type HeartbeatHealth = 'healthy' | 'stale' | 'dead'

export interface HeartbeatOptions {
  staleMs?: number
  deadMs?: number
}

/** How an agent looks from the time it was last heard from; never heard from reads as dead. */
export function heartbeatHealth (lastSeenAt: number | null, now: number, options: HeartbeatOptions = {}): HeartbeatHealth {
  const staleMs = requirePositive('staleMs', options.staleMs ?? DEFAULT_HEARTBEAT_STALE_MS)
  const deadMs = requirePositive('deadMs', options.deadMs ?? DEFAULT_HEARTBEAT_DEAD_MS)
  if (deadMs < staleMs) throw new InvalidRuleOptionError('deadMs', deadMs, `>= staleMs (${staleMs})`)
  if (lastSeenAt === null) return 'dead'
  const elapsed = now - lastSeenAt
  if (elapsed >= deadMs) return 'dead'
  if (elapsed >= staleMs) return 'stale'
  return 'healthy'
}
