import type { DocStore } from '../../crdt/doc-store.js'
import { SyncSession } from '../../crdt/sync/session.js'
import { MAX_SYNC_FRAME_BYTES, type SwimFrame } from '../../crdt/wire.js'
import type { Logger } from '../logger.js'
import type { FleetNetwork, FrameChannel } from './network.js'
import type { Rejections, ReplicationStats } from './replication-stats.js'

/** A sync stream is closed after this many bad frames: the peer is broken or hostile, not unlucky. */
export const DEFAULT_MAX_BAD_SYNC_FRAMES = 10
/** How often sessions missing on open connections are retried. */
export const DEFAULT_SESSION_RETRY_MS = 2000

export interface SyncSessionsInit {
  network: FleetNetwork
  store: DocStore
  logger: Logger
  stats: ReplicationStats
  rejections: Rejections
  /** The sync protocol id (namespaced by cluster). */
  protocol: string
  allowPeer: (nodeId: string) => boolean
  /** Bad frames tolerated on one stream before it is closed (default DEFAULT_MAX_BAD_SYNC_FRAMES). */
  maxBadFrames?: number
  retryMs?: number
  onOpen: (peer: string) => void
  onClose: (peer: string) => void
  /** A peer sent its heads directly (an acknowledgement). */
  onHeads: (peer: string, heads: string[]) => void
  /** A SWIM frame (probe, ack, member list) from a peer. */
  onSwim: (peer: string, frame: SwimFrame) => void
}

interface OpenSession {
  session: SyncSession
  channel: FrameChannel
}

/**
 * Anti-entropy: an Automerge sync session with each directly connected peer, which repairs what
 * gossip missed, on connect and whenever a full round is asked for (resync). One channel per
 * pair: the peer with the smaller id opens it; a periodic ensure() retries failures.
 */
export class SyncSessions {
  private readonly init: SyncSessionsInit
  private readonly selfId: string
  private readonly maxBadFrames: number
  private readonly sessions = new Map<string, OpenSession>()
  private readonly opening = new Set<string>()
  private readonly openPeers = new Set<string>()
  private timer: NodeJS.Timeout | null = null
  private running = false

  constructor (init: SyncSessionsInit) {
    this.init = init
    this.selfId = init.network.selfId
    this.maxBadFrames = init.maxBadFrames ?? DEFAULT_MAX_BAD_SYNC_FRAMES
  }

  async start (): Promise<void> {
    this.running = true
    const { network } = this.init
    await network.handle(this.init.protocol, (peer, channel) => { this.attach(peer, channel, 'inbound') }, { maxFrameBytes: MAX_SYNC_FRAME_BYTES })
    network.on('peer:ready', this.onReady)
    network.on('peer:disconnect', this.onDisconnect)
    this.timer = setInterval(() => { this.ensure() }, this.init.retryMs ?? DEFAULT_SESSION_RETRY_MS)
  }

  async stop (): Promise<void> {
    this.running = false
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    const { network } = this.init
    network.off('peer:ready', this.onReady)
    network.off('peer:disconnect', this.onDisconnect)
    for (const [peer] of this.sessions) this.close(peer)
    await network.unhandle(this.init.protocol).catch(() => {})
  }

  /** Peers with an open session. */
  peers (): string[] {
    return [...this.sessions.keys()]
  }

  /** The same as a live set (no copy): the prober reads it at every probe. */
  get peerSet (): ReadonlySet<string> {
    return this.openPeers
  }

  /** Sends a SWIM frame over a peer's session; false when we hold none with it. */
  sendSwim (peer: string, frame: SwimFrame): boolean {
    const s = this.sessions.get(peer)
    if (s === undefined) return false
    s.session.sendSwim(frame)
    return true
  }

  has (peer: string): boolean {
    return this.sessions.has(peer)
  }

  /** Asks a peer for a full reconciliation round (both sides restart the sync protocol). */
  resync (peer: string): void {
    const s = this.sessions.get(peer)
    if (s === undefined) return
    this.init.stats.syncRounds++
    s.session.requestReset()
  }

  /** Sends our heads to a peer over its session; false when we hold none with it. */
  sendHeads (peer: string, heads: string[]): boolean {
    const s = this.sessions.get(peer)
    if (s === undefined) return false
    s.session.sendHeads(heads)
    return true
  }

  /** Offers our changes to every peer now (e.g. a change too big for gossip). */
  pumpAll (): void {
    for (const s of this.sessions.values()) s.session.pump()
  }

  /** Opens the sessions that are missing on open connections (a retry after failures). */
  ensure (): void {
    for (const peer of this.init.network.connections()) {
      if (!this.sessions.has(peer)) this.maybeOpen(peer)
    }
  }

  private readonly onReady = (peer: string, protocols: string[]): void => {
    if (protocols.includes(this.init.protocol)) this.maybeOpen(peer)
  }

  private readonly onDisconnect = (peer: string): void => {
    this.close(peer)
  }

  private maybeOpen (peer: string): void {
    if (!this.running || this.sessions.has(peer) || this.opening.has(peer)) return
    if (this.selfId > peer || !this.init.allowPeer(peer)) return
    this.opening.add(peer)
    this.init.network.openChannel(peer, this.init.protocol, { maxFrameBytes: MAX_SYNC_FRAME_BYTES })
      .then((channel) => { this.attach(peer, channel, 'outbound') })
      .catch((err: unknown) => { this.init.logger.debug({ err, peer }, 'opening sync stream failed; will retry') })
      .finally(() => { this.opening.delete(peer) })
  }

  private attach (peer: string, channel: FrameChannel, direction: 'inbound' | 'outbound'): void {
    const { stats, rejections } = this.init
    if (!this.running) {
      channel.close()
      return
    }
    if (!this.init.allowPeer(peer)) {
      channel.close()
      rejections.reject('sync', new Error('sync stream from a peer outside the allow-list'), peer)
      return
    }
    // A newer stream replaces an older one (e.g. after the peer restarted).
    this.close(peer)
    const session = new SyncSession({
      store: this.init.store,
      send: (frame) => { stats.syncOut++; channel.send(frame) },
      onHeads: (heads) => { this.init.onHeads(peer, heads) },
      onSwim: (frame) => { this.init.onSwim(peer, frame) },
      onFrame: (direction, frame) => { stats.frames.addSync(direction, frame) }
    })
    this.sessions.set(peer, { session, channel })
    this.openPeers.add(peer)
    this.init.logger.debug({ peer, direction }, 'sync session open')
    this.read(peer, session, channel).catch((err: unknown) => {
      rejections.reject('sync', err, peer)
    }).finally(() => {
      if (this.sessions.get(peer)?.session === session) this.close(peer)
    })
    // Both sides speak first: whoever has changes the other lacks says so at once.
    stats.syncRounds++
    session.pump()
    this.init.onOpen(peer)
  }

  private async read (peer: string, session: SyncSession, channel: FrameChannel): Promise<void> {
    let bad = 0
    for await (const frame of channel.frames) {
      this.init.stats.syncIn++
      try {
        session.receive(frame)
      } catch (err) {
        this.init.rejections.reject('sync', err, peer)
        // Each bad frame resets the round; a peer that keeps sending them would keep us
        // decoding garbage forever. Closing costs an honest peer one reconnect round.
        if (++bad >= this.maxBadFrames) {
          this.init.stats.syncStreamsClosed++
          this.init.logger.warn({ peer, badFrames: bad }, 'closing a sync stream that keeps sending bad frames')
          return
        }
      }
    }
  }

  private close (peer: string): void {
    const s = this.sessions.get(peer)
    if (s === undefined) return
    this.sessions.delete(peer)
    this.openPeers.delete(peer)
    s.session.close()
    s.channel.close()
    this.init.onClose(peer)
  }
}
