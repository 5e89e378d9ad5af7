import type { Logger } from '../logger.js'

/** At most one "dropped a malformed frame" line per peer and kind this often (the rest are counted). */
export const DEFAULT_REJECT_LOG_INTERVAL_MS = 10_000
/** Peers remembered for log rate limiting; beyond this the memory starts over (a flood of ids). */
const REJECT_LOG_PEERS = 1024

export interface ReplicationStats {
  gossipIn: number
  gossipOut: number
  gossipRejected: number
  gossipOutBytes: number
  syncIn: number
  syncOut: number
  syncRejected: number
  /** Sync streams closed because the peer kept sending bad frames. */
  syncStreamsClosed: number
  syncRounds: number
  changesApplied: number
}

export function newReplicationStats (): ReplicationStats {
  return { gossipIn: 0, gossipOut: 0, gossipRejected: 0, gossipOutBytes: 0, syncIn: 0, syncOut: 0, syncRejected: 0, syncStreamsClosed: 0, syncRounds: 0, changesApplied: 0 }
}

export type RejectKind = 'gossip' | 'sync'

/**
 * Counts and logs dropped frames. Logged at most once per interval per peer and kind: a flood of
 * garbage must not become a flood of log lines (the counters and onReject still see every frame).
 */
export class Rejections {
  private readonly last = new Map<string, { at: number, suppressed: number }>()

  constructor (
    private readonly stats: ReplicationStats,
    private readonly log: Logger,
    private readonly onReject: (kind: RejectKind, reason: string) => void,
    private readonly intervalMs = DEFAULT_REJECT_LOG_INTERVAL_MS
  ) {}

  reject (kind: RejectKind, err: unknown, from: string): void {
    if (kind === 'gossip') this.stats.gossipRejected++
    else this.stats.syncRejected++
    const reason = (err instanceof Error ? err.message : String(err)).slice(0, 500)
    const key = `${kind} ${from}`
    const now = Date.now()
    const last = this.last.get(key)
    if (last === undefined || now - last.at >= this.intervalMs) {
      if (this.last.size >= REJECT_LOG_PEERS) this.last.clear()
      this.log.warn({ peer: from, kind, reason, ...(last === undefined ? {} : { suppressed: last.suppressed }) }, 'dropped a malformed frame')
      this.last.set(key, { at: now, suppressed: 0 })
    } else {
      last.suppressed++
    }
    this.onReject(kind, reason)
  }
}
