import type { SyncFrame } from '../../crdt/wire.js'
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
  /** Every protocol frame by direction, protocol and kind (fleet_net_frames_total). */
  frames: FrameCounts
}

export function newReplicationStats (): ReplicationStats {
  return { gossipIn: 0, gossipOut: 0, gossipRejected: 0, gossipOutBytes: 0, syncIn: 0, syncOut: 0, syncRejected: 0, syncStreamsClosed: 0, syncRounds: 0, changesApplied: 0, frames: new FrameCounts() }
}

export type FrameDirection = 'in' | 'out'
/**
 * gossip: frames on the pubsub topics (changes, announce, members); sync: the Automerge sync
 * protocol's frames on a neighbour's stream (sync, reset, heads); swim: the failure detector's
 * frames on the same stream (ping, ack, ping-req, nack, members).
 */
export type FrameProtocol = 'gossip' | 'sync' | 'swim'

export interface FrameCount {
  direction: FrameDirection
  protocol: FrameProtocol
  kind: string
  count: number
}

/**
 * What a node's traffic is made of, frame by frame (the gossip and sync counters above lump the
 * probes in with the sync messages). Kinds come from validated frames only (a received frame is
 * counted once decoded), so the series stay a short fixed list whatever peers send.
 */
export class FrameCounts {
  private readonly counts = new Map<string, FrameCount>()

  add (direction: FrameDirection, protocol: FrameProtocol, kind: string, by = 1): void {
    const key = `${direction} ${protocol} ${kind}`
    const c = this.counts.get(key)
    if (c === undefined) this.counts.set(key, { direction, protocol, kind, count: by })
    else c.count += by
  }

  /** A frame of the sync stream: SWIM frames by their own kind, the others by sync frame type. */
  addSync (direction: FrameDirection, frame: SyncFrame): void {
    if (frame.type === 'swim') this.add(direction, 'swim', frame.frame.t)
    else this.add(direction, 'sync', frame.type)
  }

  /** Frames counted in one direction, optionally of one protocol and kind. */
  total (direction: FrameDirection, protocol?: FrameProtocol, kind?: string): number {
    let n = 0
    for (const c of this.counts.values()) {
      if (c.direction === direction && (protocol === undefined || c.protocol === protocol) && (kind === undefined || c.kind === kind)) n += c.count
    }
    return n
  }

  entries (): FrameCount[] {
    return [...this.counts.values()].map(c => ({ ...c }))
  }
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
