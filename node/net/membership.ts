import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import { WIRE_VERSION, type AgentBeat, type AnnounceFrame, type GossipFrame } from '../../crdt/wire.js'
import { DEFAULT_PRESENCE_INTERVAL_MS } from '../coord/settings.js'
import type { Logger } from '../logger.js'
import type { PeerTable } from './peer-table.js'

export const DEFAULT_ANNOUNCE_INTERVAL_MS = DEFAULT_PRESENCE_INTERVAL_MS
/** After a remote change, tell peers our heads this soon (claims are confirmed on these acks). */
export const DEFAULT_ACK_DELAY_MS = 20
/** A peer whose announced heads we have lacked this long gets a full sync round. */
export const DEFAULT_RESYNC_AFTER_MS = 1500
/** Addresses carried per announcement (peer exchange). */
export const MAX_ANNOUNCED_ADDRS = 32

/** Ephemeral data carried by each announcement. */
export interface Presence {
  http: string | null
  beats: AgentBeat[]
  merger?: boolean
}

export interface MembershipInit {
  selfId: string
  store: DocStore
  logger: Logger
  peers: PeerTable
  /** Sends an announcement frame to the cluster. */
  publish: (frame: AnnounceFrame) => void
  /** Our dialable addresses. */
  addresses: () => string[]
  presence: () => Presence
  /** Runs a full sync round with a peer whose announced heads we keep lacking. */
  resync: (peer: string) => void
  /** Which remote changes deserve a prompt heads announcement (an ack). */
  ackWhen: (evt: DocChangeEvent) => boolean
  onAnnounce: (frame: AnnounceFrame) => void
  announceIntervalMs?: number
  ackDelayMs?: number
  resyncAfterMs?: number
}

export function touchesClaims (evt: DocChangeEvent): boolean {
  return evt.patches.some(p => p.path[0] === 'assignments')
}

/**
 * Presence: every node announces its heads, addresses and agents' heartbeats periodically (how
 * peers learn it is alive and what it holds), and promptly after a remote change that needs an
 * acknowledgement (claims). Received frames fill the peer table.
 */
export class Membership {
  private readonly init: MembershipInit
  private readonly ackDelayMs: number
  private readonly resyncAfterMs: number
  readonly announceIntervalMs: number
  private ackTimer: NodeJS.Timeout | null = null
  private timer: NodeJS.Timeout | null = null
  private running = false

  constructor (init: MembershipInit) {
    this.init = init
    this.announceIntervalMs = init.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS
    this.ackDelayMs = init.ackDelayMs ?? DEFAULT_ACK_DELAY_MS
    this.resyncAfterMs = init.resyncAfterMs ?? DEFAULT_RESYNC_AFTER_MS
  }

  start (): void {
    this.running = true
    this.init.store.on('change', this.onStoreChange)
    this.timer = setInterval(() => { this.announce() }, this.announceIntervalMs)
    this.announce()
  }

  stop (): void {
    this.running = false
    if (this.timer !== null) clearInterval(this.timer)
    if (this.ackTimer !== null) clearTimeout(this.ackTimer)
    this.timer = null
    this.ackTimer = null
    this.init.store.off('change', this.onStoreChange)
  }

  /** Our heads and ephemeral presence; also how peers learn we are alive. */
  announce (): void {
    if (!this.running) return
    const p = this.init.presence()
    this.init.publish({
      v: WIRE_VERSION,
      t: 'announce',
      node: this.init.selfId,
      heads: this.init.store.heads(),
      at: Date.now(),
      http: p.http,
      addrs: this.init.addresses().slice(0, MAX_ANNOUNCED_ADDRS),
      beats: p.beats,
      merger: p.merger === true
    })
  }

  /** A validated frame from a peer: its heads, and for announcements its presence. */
  receive (frame: GossipFrame, now = Date.now()): void {
    const peer = this.init.peers.get(frame.node)
    peer.heads = frame.heads
    peer.headsAt = now
    if (frame.t !== 'announce') return
    peer.lastSeenAt = now
    peer.http = frame.http
    peer.addrs = frame.addrs
    peer.beats = frame.beats
    peer.merger = frame.merger === true
    this.checkBehind(frame.node, frame.heads, now)
    this.init.onAnnounce(frame)
  }

  private readonly onStoreChange = (evt: DocChangeEvent): void => {
    if (evt.origin === 'local' || !this.init.ackWhen(evt) || this.ackTimer !== null) return
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null
      this.announce()
    }, this.ackDelayMs)
  }

  /** If a peer keeps announcing heads we lack, gossip lost something: run a full sync round. */
  private checkBehind (nodeId: string, heads: string[], now: number): void {
    const peer = this.init.peers.get(nodeId)
    if (this.init.store.missingDeps(heads).length === 0) {
      peer.missingSince = null
      return
    }
    if (peer.missingSince === null) {
      peer.missingSince = now
    } else if (now - peer.missingSince >= this.resyncAfterMs) {
      peer.missingSince = now
      this.init.logger.debug({ peer: nodeId }, 'peer announced heads we lack; resyncing')
      this.init.resync(nodeId)
    }
  }
}
