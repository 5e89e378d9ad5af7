import { EventEmitter } from 'node:events'
import type { PeerId, Stream, Message } from '@libp2p/interface'
import { TopicValidatorResult } from '@libp2p/interface'
import { pushable, type Pushable } from 'it-pushable'
import { pipe } from 'it-pipe'
import * as lp from 'it-length-prefixed'
import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import { SyncSession } from '../../crdt/sync/session.js'
import {
  decodeGossip, encodeGossip, MAX_GOSSIP_FRAME_BYTES, MAX_SYNC_FRAME_BYTES, WIRE_VERSION,
  type AgentBeat, type AnnounceFrame, type GossipFrame
} from '../../crdt/wire.js'
import { DEFAULT_PRESENCE_INTERVAL_MS } from '../coord/settings.js'
import type { Logger } from '../logger.js'
import type { FleetLibp2p } from './libp2p.js'
import { PeerTable } from './peer-table.js'

export const DEFAULT_CLUSTER = 'default'
export const DEFAULT_ANNOUNCE_INTERVAL_MS = DEFAULT_PRESENCE_INTERVAL_MS
/** After a remote change, tell peers our heads this soon (claims are confirmed on these acks). */
export const DEFAULT_ACK_DELAY_MS = 20
/** A peer whose announced heads we have lacked this long gets a full sync round. */
export const DEFAULT_RESYNC_AFTER_MS = 1500
export const DEFAULT_SESSION_RETRY_MS = 2000
/** A sync stream is closed after this many bad frames: the peer is broken or hostile, not unlucky. */
export const DEFAULT_MAX_BAD_SYNC_FRAMES = 10
/** At most one "dropped a malformed frame" line per peer and kind this often (the rest are counted). */
export const DEFAULT_REJECT_LOG_INTERVAL_MS = 10_000

export interface ReplicatorInit {
  libp2p: FleetLibp2p
  store: DocStore
  logger: Logger
  /** Namespaces topics and the sync protocol, so clusters sharing a network stay apart. */
  cluster?: string
  announceIntervalMs?: number
  ackDelayMs?: number
  resyncAfterMs?: number
  /** Ephemeral data carried by each announcement (HTTP URL, agent heartbeats). */
  presence?: () => { http: string | null, beats: AgentBeat[], merger?: boolean }
  /**
   * Which remote changes deserve a prompt heads announcement (an ack). Default: changes to
   * claims, which wait for every live node's ack before they are confirmed. Acking every
   * change would multiply gossip traffic by the cluster size for nothing.
   */
  ackWhen?: (evt: DocChangeEvent) => boolean
  /**
   * Whether a peer belongs to the cluster (the allow-list); default: everyone who could connect.
   * Gossip published by anyone else is ignored and no sync session is held with them.
   */
  allowPeer?: (nodeId: string) => boolean
  /** Bad frames tolerated on one sync stream before it is closed (default DEFAULT_MAX_BAD_SYNC_FRAMES). */
  maxBadSyncFrames?: number
}

export function touchesClaims (evt: DocChangeEvent): boolean {
  return evt.patches.some(p => p.path[0] === 'assignments')
}

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

export interface ReplicatorEvents {
  announce: [AnnounceFrame]
  'peer:connected': [string]
  'peer:disconnected': [string]
  /** Heads of a peer moved (via announce or changes frame). */
  'peer:heads': [string]
  rejected: ['gossip' | 'sync', string]
}

export function topicsFor (cluster: string): { changes: string, presence: string, sync: string } {
  return {
    changes: `fleet/${cluster}/changes/${WIRE_VERSION}`,
    presence: `fleet/${cluster}/presence/${WIRE_VERSION}`,
    sync: `/fleet/${cluster}/sync/${WIRE_VERSION}.0.0`
  }
}

interface OpenSession {
  session: SyncSession
  out: Pushable<Uint8Array>
  stream: Stream
}

/**
 * Spreads the document: local changes go out on gossipsub at once (fast path, best effort);
 * an Automerge sync session with each directly connected peer repairs what gossip missed,
 * on connect and whenever a peer announces heads we lack. Every frame received is validated;
 * a bad one is dropped, counted, logged, and (for gossip) rejected so gossipsub scores the sender.
 */
export class Replicator extends EventEmitter<ReplicatorEvents> {
  readonly peers = new PeerTable()
  readonly stats: ReplicationStats = { gossipIn: 0, gossipOut: 0, gossipRejected: 0, gossipOutBytes: 0, syncIn: 0, syncOut: 0, syncRejected: 0, syncStreamsClosed: 0, syncRounds: 0, changesApplied: 0 }
  readonly topics: ReturnType<typeof topicsFor>
  private readonly libp2p: FleetLibp2p
  private readonly store: DocStore
  private readonly log: Logger
  private readonly announceIntervalMs: number
  private readonly ackDelayMs: number
  private readonly resyncAfterMs: number
  private readonly presence: NonNullable<ReplicatorInit['presence']>
  private readonly ackWhen: NonNullable<ReplicatorInit['ackWhen']>
  private readonly allowPeer: NonNullable<ReplicatorInit['allowPeer']>
  private readonly maxBadSyncFrames: number
  /** Frames decoded by the validator, so the message handler does not decode them again. */
  private readonly validated = new WeakMap<Message, GossipFrame>()
  private readonly rejectLog = new Map<string, { at: number, suppressed: number }>()
  private readonly sessions = new Map<string, OpenSession>()
  private readonly opening = new Set<string>()
  private readonly selfId: string
  private outgoing: Uint8Array[] = []
  private incoming: Array<{ from: string, changes: Uint8Array[] }> = []
  private publishScheduled = false
  private applyScheduled = false
  private announceTimer: NodeJS.Timeout | null = null
  private ackTimer: NodeJS.Timeout | null = null
  private running = false

  constructor (init: ReplicatorInit) {
    super()
    this.libp2p = init.libp2p
    this.store = init.store
    this.log = init.logger
    this.topics = topicsFor(init.cluster ?? DEFAULT_CLUSTER)
    this.announceIntervalMs = init.announceIntervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS
    this.ackDelayMs = init.ackDelayMs ?? DEFAULT_ACK_DELAY_MS
    this.resyncAfterMs = init.resyncAfterMs ?? DEFAULT_RESYNC_AFTER_MS
    this.presence = init.presence ?? (() => ({ http: null, beats: [] }))
    this.ackWhen = init.ackWhen ?? touchesClaims
    this.allowPeer = init.allowPeer ?? (() => true)
    this.maxBadSyncFrames = init.maxBadSyncFrames ?? DEFAULT_MAX_BAD_SYNC_FRAMES
    this.selfId = init.libp2p.peerId.toString()
  }

  async start (): Promise<void> {
    this.running = true
    const pubsub = this.libp2p.services.pubsub
    for (const topic of [this.topics.changes, this.topics.presence]) {
      pubsub.topicValidators.set(topic, (_peer, msg) => this.validate(msg))
      pubsub.subscribe(topic)
    }
    pubsub.addEventListener('message', this.onMessage)
    await this.libp2p.handle(this.topics.sync, ({ stream, connection }) => {
      this.attach(connection.remotePeer, stream, 'inbound')
    }, { maxInboundStreams: 4, runOnLimitedConnection: false })
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.store.on('change', this.onStoreChange)
    this.announceTimer = setInterval(() => { this.tick() }, this.announceIntervalMs)
    this.announce()
  }

  async stop (): Promise<void> {
    this.running = false
    if (this.announceTimer !== null) clearInterval(this.announceTimer)
    if (this.ackTimer !== null) clearTimeout(this.ackTimer)
    this.store.off('change', this.onStoreChange)
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.services.pubsub.removeEventListener('message', this.onMessage)
    for (const [peer] of this.sessions) this.closeSession(peer)
    await this.libp2p.unhandle(this.topics.sync).catch(() => {})
  }

  /** Node ids with an open sync session: the connected fleet peers. */
  connectedPeers (): string[] {
    return [...this.sessions.keys()]
  }

  /** Asks a peer for a full reconciliation round (both sides restart the sync protocol). */
  resync (nodeId: string): void {
    const s = this.sessions.get(nodeId)
    if (s === undefined) return
    this.stats.syncRounds++
    s.session.requestReset()
  }

  // ---- gossip ----

  /**
   * Runs before gossipsub delivers or forwards a message. Reject (malformed, or a frame speaking
   * for another node) lowers the sender's score; Ignore (a publisher outside the allow-list,
   * relayed by a member whose list differs) drops it without blaming the relay.
   */
  private validate (msg: Message): TopicValidatorResult {
    // StrictSign already dropped unsigned messages; this guards against a policy change.
    if (msg.type !== 'signed') {
      this.reject('gossip', new Error('unsigned message'), 'unsigned')
      return TopicValidatorResult.Reject
    }
    const from = msg.from.toString()
    if (!this.allowPeer(from)) {
      this.reject('gossip', new Error('publisher is not in the allow-list'), from)
      return TopicValidatorResult.Ignore
    }
    let frame: GossipFrame
    try {
      frame = decodeGossip(msg.data)
    } catch (err) {
      this.reject('gossip', err, from)
      return TopicValidatorResult.Reject
    }
    // The signed publisher must be the node the frame speaks for: no speaking for others.
    if (frame.node !== from) {
      this.reject('gossip', new Error(`frame names node ${frame.node.slice(0, 64)} but was signed by ${from}`), from)
      return TopicValidatorResult.Reject
    }
    this.validated.set(msg, frame)
    return TopicValidatorResult.Accept
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    if (msg.topic !== this.topics.changes && msg.topic !== this.topics.presence) return
    // Only messages our validator accepted get here (gossipsub runs it before delivery).
    const frame = this.validated.get(msg)
    if (frame === undefined) return
    this.validated.delete(msg)
    this.stats.gossipIn++
    const peer = this.peers.get(frame.node)
    peer.heads = frame.heads
    peer.headsAt = Date.now()
    if (frame.t === 'changes') {
      this.incoming.push({ from: frame.node, changes: frame.changes })
      this.scheduleApply()
    } else {
      peer.lastSeenAt = Date.now()
      peer.http = frame.http
      peer.addrs = frame.addrs
      peer.beats = frame.beats
      peer.merger = frame.merger === true
      this.checkBehind(frame.node, frame.heads)
      this.emit('announce', frame)
    }
    this.emit('peer:heads', frame.node)
  }

  private scheduleApply (): void {
    if (this.applyScheduled) return
    this.applyScheduled = true
    setImmediate(() => {
      this.applyScheduled = false
      const batch = this.incoming
      this.incoming = []
      this.applyBatch(batch)
    })
  }

  /** Applies everything that arrived in this tick with one applyChanges (far cheaper than one each). */
  private applyBatch (batch: Array<{ from: string, changes: Uint8Array[] }>): void {
    if (!this.running || batch.length === 0) return
    try {
      this.store.applyRemote(batch.flatMap(b => b.changes))
      this.stats.changesApplied += batch.reduce((n, b) => n + b.changes.length, 0)
    } catch {
      // One bad frame must not sink the good ones: retry frame by frame.
      for (const b of batch) {
        try {
          this.store.applyRemote(b.changes)
          this.stats.changesApplied += b.changes.length
        } catch (err) {
          this.reject('gossip', err, b.from)
        }
      }
    }
    // Changes whose dependencies never reached us wait in Automerge's queue: fetch the gap now.
    if (this.store.missingDeps().length > 0) {
      for (const b of new Set(batch.map(x => x.from))) this.resync(b)
    }
  }

  private readonly onStoreChange = (evt: DocChangeEvent): void => {
    if (evt.origin === 'local') {
      this.outgoing.push(...evt.changes)
      this.schedulePublish()
    } else if (this.ackWhen(evt)) {
      this.scheduleAck()
    }
  }

  private schedulePublish (): void {
    if (this.publishScheduled) return
    this.publishScheduled = true
    setImmediate(() => {
      this.publishScheduled = false
      const changes = this.outgoing
      this.outgoing = []
      this.publishChanges(changes)
    })
  }

  private publishChanges (changes: Uint8Array[]): void {
    if (!this.running || changes.length === 0) return
    const heads = this.store.heads()
    // Split so no frame exceeds the gossip limit; a single oversized change is left to sync.
    let batch: Uint8Array[] = []
    let size = 0
    const flush = (): void => {
      if (batch.length === 0) return
      this.publish(this.topics.changes, { v: WIRE_VERSION, t: 'changes', node: this.selfId, heads, changes: batch })
      batch = []
      size = 0
    }
    let oversized = false
    for (const c of changes) {
      if (c.byteLength > MAX_GOSSIP_FRAME_BYTES - 16 * 1024) {
        oversized = true
        continue
      }
      if (size + c.byteLength > MAX_GOSSIP_FRAME_BYTES - 16 * 1024) flush()
      batch.push(c)
      size += c.byteLength
    }
    flush()
    // Too big for gossip (a large plan import): offer it to every directly connected peer over
    // its sync session now rather than waiting for them to notice our heads.
    if (oversized) {
      for (const s of this.sessions.values()) s.session.pump()
      this.announce()
    }
  }

  private publish (topic: string, frame: GossipFrame): void {
    const data = encodeGossip(frame)
    this.stats.gossipOut++
    this.stats.gossipOutBytes += data.byteLength
    this.libp2p.services.pubsub.publish(topic, data).catch((err: unknown) => {
      this.log.debug({ err, topic }, 'gossip publish failed; sync will repair')
    })
  }

  // ---- presence ----

  private tick (): void {
    this.announce()
    this.ensureSessions()
  }

  /** Our heads and ephemeral presence; also how peers learn we are alive. */
  announce (): void {
    if (!this.running) return
    const p = this.presence()
    const addrs = this.libp2p.getMultiaddrs().map(a => a.toString()).slice(0, 32)
    this.publish(this.topics.presence, {
      v: WIRE_VERSION, t: 'announce', node: this.selfId, heads: this.store.heads(), at: Date.now(), http: p.http, addrs, beats: p.beats, merger: p.merger === true
    })
  }

  private scheduleAck (): void {
    if (this.ackTimer !== null) return
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null
      this.announce()
    }, this.ackDelayMs)
  }

  /** If a peer keeps announcing heads we lack, gossip lost something: run a full sync round. */
  private checkBehind (nodeId: string, heads: string[]): void {
    const peer = this.peers.get(nodeId)
    if (this.store.missingDeps(heads).length === 0) {
      peer.missingSince = null
      return
    }
    const now = Date.now()
    if (peer.missingSince === null) {
      peer.missingSince = now
    } else if (now - peer.missingSince >= this.resyncAfterMs) {
      peer.missingSince = now
      this.log.debug({ peer: nodeId }, 'peer announced heads we lack; resyncing')
      this.resync(nodeId)
    }
  }

  // ---- sync sessions ----

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    const { peerId, protocols } = evt.detail
    if (!protocols.includes(this.topics.sync)) return
    this.maybeOpen(peerId)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const id = evt.detail.toString()
    this.closeSession(id)
  }

  /** The peer with the smaller id opens the one sync stream of a pair; a retry covers failures. */
  private ensureSessions (): void {
    for (const conn of this.libp2p.getConnections()) {
      const id = conn.remotePeer.toString()
      if (!this.sessions.has(id)) this.maybeOpen(conn.remotePeer)
    }
  }

  private maybeOpen (peerId: PeerId): void {
    const id = peerId.toString()
    if (!this.running || this.sessions.has(id) || this.opening.has(id)) return
    if (this.selfId > id || !this.allowPeer(id)) return
    this.opening.add(id)
    this.libp2p.dialProtocol(peerId, this.topics.sync)
      .then((stream) => { this.attach(peerId, stream, 'outbound') })
      .catch((err: unknown) => { this.log.debug({ err, peer: id }, 'opening sync stream failed; will retry') })
      .finally(() => { this.opening.delete(id) })
  }

  private attach (peerId: PeerId, stream: Stream, direction: 'inbound' | 'outbound'): void {
    const id = peerId.toString()
    if (!this.running) {
      stream.abort(new Error('node stopping'))
      return
    }
    if (!this.allowPeer(id)) {
      stream.abort(new Error('peer not in the allow-list'))
      this.reject('sync', new Error('sync stream from a peer outside the allow-list'), id)
      return
    }
    // A newer stream replaces an older one (e.g. after the peer restarted).
    this.closeSession(id)
    const out = pushable<Uint8Array>()
    const session = new SyncSession({
      store: this.store,
      send: (frame) => { this.stats.syncOut++; out.push(frame) }
    })
    this.sessions.set(id, { session, out, stream })
    const peer = this.peers.get(id)
    peer.connected = true
    this.log.debug({ peer: id, direction }, 'sync session open')
    this.emit('peer:connected', id)

    pipe(out, (src) => lp.encode(src), stream.sink).catch((err: unknown) => {
      this.log.debug({ err, peer: id }, 'sync stream send ended')
    })
    pipe(
      stream.source,
      (src) => lp.decode(src, { maxDataLength: MAX_SYNC_FRAME_BYTES }),
      async (src) => {
        let bad = 0
        for await (const buf of src) {
          this.stats.syncIn++
          try {
            session.receive(buf.subarray())
          } catch (err) {
            this.reject('sync', err, id)
            // Each bad frame resets the round; a peer that keeps sending them would keep us
            // decoding garbage forever. Closing costs an honest peer one reconnect round.
            if (++bad >= this.maxBadSyncFrames) {
              this.stats.syncStreamsClosed++
              this.log.warn({ peer: id, badFrames: bad }, 'closing a sync stream that keeps sending bad frames')
              break
            }
          }
        }
      }
    ).catch((err: unknown) => {
      this.reject('sync', err, id)
    }).finally(() => {
      const cur = this.sessions.get(id)
      if (cur?.session === session) this.closeSession(id)
    })
    // Both sides speak first: whoever has changes the other lacks says so at once.
    this.stats.syncRounds++
    session.pump()
  }

  private closeSession (id: string): void {
    const s = this.sessions.get(id)
    if (s === undefined) return
    this.sessions.delete(id)
    s.session.close()
    s.out.end()
    s.stream.close().catch(() => { s.stream.abort(new Error('closing')) })
    const peer = this.peers.find(id)
    if (peer !== undefined) peer.connected = false
    this.emit('peer:disconnected', id)
  }

  private reject (kind: 'gossip' | 'sync', err: unknown, from: string): void {
    if (kind === 'gossip') this.stats.gossipRejected++
    else this.stats.syncRejected++
    const reason = (err instanceof Error ? err.message : String(err)).slice(0, 500)
    // Logged at most once per interval per peer and kind: a flood of garbage must not become a
    // flood of log lines (the counters and the 'rejected' event still see every frame).
    const key = `${kind} ${from}`
    const now = Date.now()
    const last = this.rejectLog.get(key)
    if (last === undefined || now - last.at >= DEFAULT_REJECT_LOG_INTERVAL_MS) {
      if (this.rejectLog.size >= 1024) this.rejectLog.clear()
      this.log.warn({ peer: from, kind, reason, ...(last === undefined ? {} : { suppressed: last.suppressed }) }, 'dropped a malformed frame')
      this.rejectLog.set(key, { at: now, suppressed: 0 })
    } else {
      last.suppressed++
    }
    this.emit('rejected', kind, reason)
  }
}
