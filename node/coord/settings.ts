import { DEFAULT_LIVENESS_MS, DEFAULT_TERM_MS } from '../../crdt/rules/leader.js'
import {
  DEFAULT_HEARTBEAT_DEAD_MS, DEFAULT_HEARTBEAT_STALE_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_BASE_MS, DEFAULT_RETRY_MAX_MS
} from '../../crdt/rules/leases.js'

/** Every node announces its presence (heads, agent heartbeats) this often. */
export const DEFAULT_PRESENCE_INTERVAL_MS = 1000

/** Progress updates reach the document at most this often per assignment (the rest is coalesced). */
export const DEFAULT_PROGRESS_THROTTLE_MS = 1000
/**
 * A started (or restarted) node claims nothing for at least this long: two presence periods, so that
 * every peer has heard it and it has heard every peer's announcement since (see
 * AssignmentService.caughtUp). fleet-node.ts raises it with the liveness window (joinGraceFor).
 */
export const DEFAULT_JOIN_GRACE_MS = 2 * DEFAULT_PRESENCE_INTERVAL_MS
/** The unit of the join grace for the default liveness window (the period of the former keepalives). */
export const JOIN_GRACE_PERIOD_MS = 3000

/**
 * The join grace a node uses: two periods of JOIN_GRACE_PERIOD_MS, or of a third of the liveness
 * window if shorter (6 s by default), never under `joinGraceMs`.
 */
export function joinGraceFor (s: Pick<CoordinationSettings, 'joinGraceMs' | 'livenessMs'>): number {
  return Math.max(s.joinGraceMs, 2 * Math.min(JOIN_GRACE_PERIOD_MS, Math.floor(s.livenessMs / 3)))
}
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

/** A timing setting that cannot work, naming the setting to change. */
export interface SettingsProblem {
  setting: 'leaseMs' | 'livenessMs' | 'termMs'
  message: string
}

const secs = (ms: number): string => `${ms / 1000} s`

/**
 * Combinations of timings that cannot work, checked before a node starts (the CLI refuses them
 * with exit 2). Why each rule:
 * - lease >= 3 presence intervals: heartbeats reach other nodes inside presence announcements, so
 *   a remote node sees a beat up to one heartbeat interval (a third of the lease) plus one presence
 *   interval late; a shorter lease would expire under a working agent.
 * - liveness >= 2 presence intervals: a node is live while its announcements arrive; with less,
 *   one late announcement marks a live node dead (the leader flaps, claims settle without it).
 * - term >= liveness: a dead leader is noticed only after the liveness timeout; a term shorter
 *   than that hands leadership on before the members agree who is live.
 * The agent heartbeat is not a setting: it is derived from the lease (heartbeatIntervalFor).
 */
export function coordinationProblems (s: CoordinationSettings, presenceIntervalMs = DEFAULT_PRESENCE_INTERVAL_MS): SettingsProblem[] {
  const out: SettingsProblem[] = []
  if (s.leaseMs < 3 * presenceIntervalMs) {
    out.push({ setting: 'leaseMs', message: `${secs(s.leaseMs)} is too short: heartbeats travel in presence announcements sent every ${secs(presenceIntervalMs)}, so a lease needs at least ${secs(3 * presenceIntervalMs)}` })
  }
  if (s.livenessMs < 2 * presenceIntervalMs) {
    out.push({ setting: 'livenessMs', message: `${secs(s.livenessMs)} is too short: nodes announce themselves every ${secs(presenceIntervalMs)}, so liveness needs at least ${secs(2 * presenceIntervalMs)}` })
  }
  if (s.termMs < s.livenessMs) {
    out.push({ setting: 'termMs', message: `a term of ${secs(s.termMs)} is shorter than the liveness timeout (${secs(s.livenessMs)}): a dead leader would not even be noticed within its term; use a term of at least ${secs(s.livenessMs)}` })
  }
  return out
}
