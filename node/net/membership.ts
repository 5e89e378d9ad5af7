import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import { getIn } from '../../crdt/collections.js'
import { DEFAULT_LIVENESS_MS } from '../../crdt/rules/leader.js'
import { read } from '../../crdt/schema.js'
import { WIRE_VERSION, type AgentBeat, type AnnounceFrame, type GossipFrame } from '../../crdt/wire.js'
import { DEFAULT_PRESENCE_INTERVAL_MS } from '../coord/settings.js'
import type { Logger } from '../logger.js'
import type { PeerTable } from './peer-table.js'

/**
 * How often presence is checked for something worth announcing (a changed heartbeat, address): a
 * changed heartbeat reaches other nodes at most this late (coordinationProblems counts on it).
 */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = DEFAULT_PRESENCE_INTERVAL_MS
/**
 * With nothing changed, a node still announces this often (a third of the liveness window at
 * most, so one lost keepalive never makes it look dead).
 */
export const DEFAULT_KEEPALIVE_MS = 3000
/** After a remote change, tell peers our heads this soon (claims are confirmed on these acks). */
export const DEFAULT_ACK_DELAY_MS = 20
/** A peer whose announced heads we have lacked this long gets a full sync round. */
export const DEFAULT_RESYNC_AFTER_MS = 1500
/** The keepalive period for a liveness window: DEFAULT_KEEPALIVE_MS, or a third of the window if shorter. */
export function keepaliveFor (livenessMs: number = DEFAULT_LIVENESS_MS): number {
  return Math.min(DEFAULT_KEEPALIVE_MS, Math.floor(livenessMs / 3))
}

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
  /** Sends our heads to one peer directly; false when we have no session with it. */
  sendHeads: (peer: string, heads: string[]) => boolean
  /** Which peers must promptly hear our heads after this remote change (default: claimantsOf). */
  ackTo?: (evt: DocChangeEvent) => string[]
  onAnnounce: (frame: AnnounceFrame) => void
  announceIntervalMs?: number
  /** Keepalive period with nothing changed; default min(DEFAULT_KEEPALIVE_MS, livenessMs / 3). */
  keepaliveMs?: number
  /** The liveness window the keepalive must fit into three times (default DEFAULT_LIVENESS_MS). */
  livenessMs?: number
  ackDelayMs?: number
  resyncAfterMs?: number
}

/**
 * The nodes whose claims (assignments) a change touched, except ourselves: they wait for our
 * heads to confirm a claim (the settle rule), so they hear them directly. O(patches), no scan.
 */
export function claimantsOf (store: DocStore, selfId: string, evt: DocChangeEvent): string[] {
  const out = new Set<string>()
  for (const p of evt.patches) {
    // Assignments live in buckets: ['assignments', bucket, id, ...field].
    if (p.path[0] !== 'assignments' || typeof p.path[2] !== 'string') continue
    const a = getIn(store.doc.assignments, p.path[2])
    const node = a === undefined ? undefined : read(a.nodeId)
    if (node !== undefined && node !== selfId) out.add(node)
  }
  return [...out]
}

/**
 * Presence. Each node announces its heads, addresses and agents' heartbeats: on a keepalive
 * period (how peers learn it is alive and what it holds), and sooner when something in it changed
 * (then only the heartbeats that changed). Acknowledgements are not broadcast: after a remote
 * change to claims, the claiming nodes get our heads directly over their sync sessions, so a
 * claim costs each other node one message, not one delivered to every node. Received frames fill
 * the peer table.
 */
export class Membership {
  private readonly init: MembershipInit
  private readonly ackDelayMs: number
  private readonly resyncAfterMs: number
  private readonly ackTo: (evt: DocChangeEvent) => string[]
  readonly announceIntervalMs: number
  readonly keepaliveMs: number
  private ackTimer: NodeJS.Timeout | null = null
  private readonly ackTargets = new Set<string>()
  private timer: NodeJS.Timeout | null = null
  private running = false
  private lastAnnounceAt = 0
  /** What the last announcement said besides heads and beats, and each beat it carried. */
  private lastPresence = ''
  private readonly sentBeats = new Map<string, string>()

  constructor (init: MembershipInit) {
    this.init = init
    this.keepaliveMs = init.keepaliveMs ?? keepaliveFor(init.livenessMs)
    this.announceIntervalMs = Math.min(init.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS, this.keepaliveMs)
    this.ackDelayMs = init.ackDelayMs ?? DEFAULT_ACK_DELAY_MS
    this.resyncAfterMs = init.resyncAfterMs ?? DEFAULT_RESYNC_AFTER_MS
    this.ackTo = init.ackTo ?? ((evt) => claimantsOf(init.store, init.selfId, evt))
  }

  start (): void {
    this.running = true
    this.init.store.on('change', this.onStoreChange)
    this.timer = setInterval(() => { this.tick() }, this.announceIntervalMs)
    this.announce()
  }

  stop (): void {
    this.running = false
    if (this.timer !== null) clearInterval(this.timer)
    if (this.ackTimer !== null) clearTimeout(this.ackTimer)
    this.timer = null
    this.ackTimer = null
    this.ackTargets.clear()
    this.init.store.off('change', this.onStoreChange)
  }

  /** Announces everything now (heads, addresses, every heartbeat): also how peers learn we are alive. */
  announce (): void {
    this.send(true, Date.now())
  }

  /** Periodic: a keepalive when due, else an announcement only if presence changed. */
  tick (now = Date.now()): void {
    this.send(now - this.lastAnnounceAt >= this.keepaliveMs, now)
  }

  private send (full: boolean, now: number): void {
    if (!this.running) return
    const p = this.init.presence()
    const addrs = this.init.addresses().slice(0, MAX_ANNOUNCED_ADDRS)
    const presence = JSON.stringify([p.http, addrs, p.merger === true])
    const beatKey = (b: AgentBeat): string => `${b.at}|${b.assignment ?? ''}|${b.status}`
    const changed = p.beats.filter(b => this.sentBeats.get(b.id) !== beatKey(b))
    if (!full && changed.length === 0 && presence === this.lastPresence) return
    for (const b of p.beats) this.sentBeats.set(b.id, beatKey(b))
    // Agents that left stop being remembered (the map stays the size of this node's agents).
    if (this.sentBeats.size > p.beats.length) {
      const ids = new Set(p.beats.map(b => b.id))
      for (const id of this.sentBeats.keys()) if (!ids.has(id)) this.sentBeats.delete(id)
    }
    this.lastPresence = presence
    this.lastAnnounceAt = now
    this.init.publish({
      v: WIRE_VERSION,
      t: 'announce',
      node: this.init.selfId,
      heads: this.init.store.heads(),
      at: now,
      http: p.http,
      addrs,
      beats: full ? p.beats : changed,
      merger: p.merger === true
    })
  }

  /** A peer told us its heads directly (an acknowledgement of our claim). */
  receiveHeads (peerId: string, heads: string[], now = Date.now()): void {
    const peer = this.init.peers.get(peerId)
    peer.heads = heads
    peer.headsAt = now
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
    if (evt.origin === 'local') return
    for (const peer of this.ackTo(evt)) this.ackTargets.add(peer)
    if (this.ackTargets.size === 0 || this.ackTimer !== null) return
    // A short delay gathers a burst of remote changes into one ack per claimant.
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null
      this.sendAcks()
    }, this.ackDelayMs)
  }

  private sendAcks (): void {
    if (!this.running) return
    const heads = this.init.store.heads()
    let unreachable = false
    for (const peer of this.ackTargets) if (!this.init.sendHeads(peer, heads)) unreachable = true
    this.ackTargets.clear()
    // A claimant we hold no session with (not directly connected) still needs our heads: the
    // announcement reaches it through gossip.
    if (unreachable) this.announce()
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
