import { EventEmitter } from 'node:events'
import type { SwimTiming } from '../../crdt/rules/swim.js'
import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import { WIRE_VERSION, type AnnounceFrame } from '../../crdt/wire.js'
import type { Logger } from '../logger.js'
import { GossipChannel } from './gossip-channel.js'
import { Membership, type Presence } from './membership.js'
import type { FleetNetwork } from './network.js'
import { PeerTable } from './peer-table.js'
import { newReplicationStats, Rejections, type RejectKind, type ReplicationStats } from './replication-stats.js'
import { SyncSessions } from './sync-sessions.js'

export { DEFAULT_ACK_DELAY_MS, DEFAULT_ANNOUNCE_INTERVAL_MS, DEFAULT_RESYNC_AFTER_MS, claimantsOf } from './membership.js'
export { DEFAULT_MAX_BAD_SYNC_FRAMES, DEFAULT_SESSION_RETRY_MS } from './sync-sessions.js'
export { DEFAULT_REJECT_LOG_INTERVAL_MS, type ReplicationStats } from './replication-stats.js'

export const DEFAULT_CLUSTER = 'default'

export interface ReplicatorInit {
  /** The network to run over (node/net/libp2p-network.ts, or memory-network.ts in tests). */
  network: FleetNetwork
  store: DocStore
  logger: Logger
  /** Namespaces topics and the sync protocol, so clusters sharing a network stay apart. */
  cluster?: string
  announceIntervalMs?: number
  /** The liveness window (CoordinationSettings.livenessMs): the failure detector's timing derives from it (swimTimingFor). */
  livenessMs?: number
  /** Overrides the derived detector timing (tests). */
  swimTiming?: Partial<SwimTiming>
  ackDelayMs?: number
  /** Route claim acks over the overlay (default true; false: announcements, for comparison in the simulator). */
  routeAcks?: boolean
  resyncAfterMs?: number
  /** Ephemeral data carried by each announcement (HTTP URL, agent heartbeats). */
  presence?: () => Presence
  /**
   * Which peers must promptly hear our heads (an ack) after a remote change. Default: the nodes
   * whose claims it touched (claimantsOf), which wait for every live node's ack before they
   * confirm; they get it directly, not by broadcast.
   */
  ackTo?: (evt: DocChangeEvent) => string[]
  /**
   * Whether a peer belongs to the cluster (the allow-list); default: everyone who could connect.
   * Gossip published by anyone else is ignored and no sync session is held with them.
   */
  allowPeer?: (nodeId: string) => boolean
  /** Bad frames tolerated on one sync stream before it is closed (default DEFAULT_MAX_BAD_SYNC_FRAMES). */
  maxBadSyncFrames?: number
}

export interface ReplicatorEvents {
  announce: [AnnounceFrame]
  'peer:connected': [string]
  'peer:disconnected': [string]
  /** Heads of a peer moved (via announce or changes frame). */
  'peer:heads': [string]
  rejected: [RejectKind, string]
}

export function topicsFor (cluster: string): { changes: string, presence: string, sync: string } {
  return {
    changes: `fleet/${cluster}/changes/${WIRE_VERSION}`,
    presence: `fleet/${cluster}/presence/${WIRE_VERSION}`,
    sync: `/fleet/${cluster}/sync/${WIRE_VERSION}.0.0`
  }
}

/**
 * Spreads the document over a FleetNetwork, composed of three parts: the gossip channel (local
 * changes out at once, best effort; received frames validated and applied in batches), membership
 * (presence announcements and acks, filling the peer table), and sync sessions (Automerge sync
 * with each directly connected peer, which repairs what gossip missed, on connect and whenever a
 * peer announces heads we lack).
 */
export class Replicator extends EventEmitter<ReplicatorEvents> {
  readonly peers = new PeerTable()
  readonly stats: ReplicationStats = newReplicationStats()
  readonly topics: ReturnType<typeof topicsFor>
  readonly network: FleetNetwork
  private readonly gossip: GossipChannel
  private readonly membership: Membership
  private readonly sessions: SyncSessions

  constructor (init: ReplicatorInit) {
    super()
    const network = init.network
    this.network = network
    this.topics = topicsFor(init.cluster ?? DEFAULT_CLUSTER)
    const store = init.store
    const logger = init.logger
    const allowPeer = init.allowPeer ?? (() => true)
    const rejections = new Rejections(this.stats, logger, (kind, reason) => { this.emit('rejected', kind, reason) })
    this.sessions = new SyncSessions({
      network,
      store,
      logger,
      stats: this.stats,
      rejections,
      protocol: this.topics.sync,
      allowPeer,
      ...(init.maxBadSyncFrames === undefined ? {} : { maxBadFrames: init.maxBadSyncFrames }),
      onOpen: (peer) => {
        this.peers.get(peer).connected = true
        // A new neighbour hears our heads at once: a node that just joined waits for every live
        // peer's heads before it claims (AssignmentService.caughtUp).
        this.sessions.sendHeads(peer, store.heads())
        this.membership.opened(peer, this.sessions.peerSet.size)
        this.emit('peer:connected', peer)
      },
      onClose: (peer) => {
        const p = this.peers.find(peer)
        if (p !== undefined) {
          // A peer live only through its connection stops being live here (see lastSeen).
          if (p.status === null) p.lastSeenAt = Date.now()
          p.connected = false
        }
        this.membership.closed(peer)
        this.emit('peer:disconnected', peer)
      },
      onSwim: (peer, frame) => { this.membership.receiveSwim(peer, frame) },
      onHeads: (peer, heads) => {
        this.membership.receiveHeads(peer, heads)
        this.emit('peer:heads', peer)
      }
    })
    this.membership = new Membership({
      selfId: network.selfId,
      store,
      logger,
      peers: this.peers,
      publish: (frame, onSent) => { this.gossip.publish(this.topics.presence, frame, onSent) },
      sendSwim: (peer, frame) => this.sessions.sendSwim(peer, frame),
      neighbours: () => this.sessions.peerSet,
      onPeerChange: (peer) => {
        // A member declared dead (or gone) keeps no connection: its neighbour slot goes to a live
        // member (the dialer fills it). A dead process's socket closes by itself; a vanished host's
        // would hold the slot until TCP gives up (minutes).
        if (!this.peers.isLive(peer) && this.sessions.has(peer)) {
          network.hangUp?.(peer).catch((err: unknown) => { logger.debug({ err, peer }, 'hanging up on a dead member failed') })
        }
        this.emit('peer:heads', peer)
      },
      addresses: () => network.addresses(),
      presence: init.presence ?? (() => ({ http: null, beats: [] })),
      resync: (peer) => { this.resync(peer) },
      sendHeads: (peer, heads) => this.sessions.sendHeads(peer, heads),
      ...(init.ackTo === undefined ? {} : { ackTo: init.ackTo }),
      onAnnounce: (frame) => { this.emit('announce', frame) },
      ...(init.announceIntervalMs === undefined ? {} : { announceIntervalMs: init.announceIntervalMs }),
      ...(init.livenessMs === undefined ? {} : { livenessMs: init.livenessMs }),
      ...(init.swimTiming === undefined ? {} : { timing: init.swimTiming }),
      ...(init.ackDelayMs === undefined ? {} : { ackDelayMs: init.ackDelayMs }),
      ...(init.routeAcks === undefined ? {} : { routeAcks: init.routeAcks }),
      ...(init.resyncAfterMs === undefined ? {} : { resyncAfterMs: init.resyncAfterMs })
    })
    this.gossip = new GossipChannel({
      network,
      store,
      logger,
      stats: this.stats,
      rejections,
      topics: this.topics,
      allowPeer,
      onFrame: (frame) => {
        this.membership.receive(frame)
        this.emit('peer:heads', frame.node)
      },
      onGap: (senders) => { for (const s of senders) this.resync(s) },
      // Too big for gossip (a large plan import): offer it to every directly connected peer over
      // its sync session now rather than waiting for them to notice our heads.
      onOversized: () => {
        this.sessions.pumpAll()
        this.membership.announce()
      }
    })
  }

  async start (): Promise<void> {
    this.gossip.start()
    await this.sessions.start()
    this.membership.start()
  }

  /** The membership protocol (incarnation, detector timing and counters). */
  get members (): Membership {
    return this.membership
  }

  async stop (): Promise<void> {
    this.membership.stop()
    await this.sessions.stop()
    this.gossip.stop()
  }

  /** Node ids with an open sync session: the connected fleet peers. */
  connectedPeers (): string[] {
    return this.sessions.peers()
  }

  /**
   * Asks a peer for a full reconciliation round (both sides restart the sync protocol). With a
   * bounded set of neighbours the peer whose heads we lack is often not one of them: then a
   * random neighbour is asked instead (each retry another one), since the changes reach the
   * neighbours through gossip and sync like everyone else.
   */
  resync (nodeId: string): void {
    if (this.sessions.has(nodeId)) {
      this.sessions.resync(nodeId)
      return
    }
    const neighbours = this.sessions.peers()
    if (neighbours.length === 0) return
    this.sessions.resync(neighbours[Math.floor(Math.random() * neighbours.length)] as string)
  }

  /** Announces our heads and presence now. */
  announce (): void {
    this.membership.announce()
  }
}
