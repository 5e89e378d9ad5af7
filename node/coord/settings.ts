import { DEFAULT_LIVENESS_MS, DEFAULT_TERM_MS } from '../../crdt/rules/leader.js'
import {
  DEFAULT_HEARTBEAT_DEAD_MS, DEFAULT_HEARTBEAT_STALE_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_BASE_MS, DEFAULT_RETRY_MAX_MS
} from '../../crdt/rules/leases.js'

/** Progress updates reach the document at most this often per assignment (the rest is coalesced). */
export const DEFAULT_PROGRESS_THROTTLE_MS = 1000
/**
 * A started (or restarted) node claims nothing for this long: two presence periods, so that every
 * peer has heard it and it has heard every peer's announcement since (see AssignmentService.caughtUp).
 */
export const DEFAULT_JOIN_GRACE_MS = 2000
/** How often leases, claims and the leader are re-evaluated. */
export const DEFAULT_COORD_TICK_MS = 250

/** What coordination counts (metrics); every hook is optional. */
export interface CoordinationCounters {
  claimConfirmed?: () => void
  claimLost?: () => void
  leaseExpired?: () => void
}

/** Timing of coordination; every node of a cluster should use the same values. */
export interface CoordinationSettings {
  leaseMs: number
  maxAttempts: number
  retryBaseMs: number
  retryMaxMs: number
  heartbeatStaleMs: number
  heartbeatDeadMs: number
  livenessMs: number
  termMs: number
  progressThrottleMs: number
  tickMs: number
  /** No claims this soon after start; default DEFAULT_JOIN_GRACE_MS. */
  joinGraceMs: number
}

export const DEFAULT_COORDINATION: CoordinationSettings = {
  leaseMs: DEFAULT_LEASE_MS,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  retryBaseMs: DEFAULT_RETRY_BASE_MS,
  retryMaxMs: DEFAULT_RETRY_MAX_MS,
  heartbeatStaleMs: DEFAULT_HEARTBEAT_STALE_MS,
  heartbeatDeadMs: DEFAULT_HEARTBEAT_DEAD_MS,
  livenessMs: DEFAULT_LIVENESS_MS,
  termMs: DEFAULT_TERM_MS,
  progressThrottleMs: DEFAULT_PROGRESS_THROTTLE_MS,
  tickMs: DEFAULT_COORD_TICK_MS,
  joinGraceMs: DEFAULT_JOIN_GRACE_MS
}
