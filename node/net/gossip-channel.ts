import type { DocStore, DocChangeEvent } from '../../crdt/doc-store.js'
import {
  decodeGossip, encodeGossip, MAX_GOSSIP_FRAME_BYTES, WIRE_VERSION, type GossipFrame
} from '../../crdt/wire.js'
import type { Logger } from '../logger.js'
import type { FleetNetwork, GossipMessage, Verdict } from './network.js'
import type { Rejections, ReplicationStats } from './replication-stats.js'
import { TickBatch } from '../util/tick-batch.js'

/** Room left in a gossip frame for everything but the changes (node id, heads, CBOR framing). */
const FRAME_OVERHEAD_BYTES = 16 * 1024

export interface GossipChannelInit {
  network: FleetNetwork
  store: DocStore
  logger: Logger
  stats: ReplicationStats
  rejections: Rejections
  /** Topics carried: document changes, and presence. */
  topics: { changes: string, presence: string }
  /** Whether a publisher belongs to the cluster (the allow-list). */
  allowPeer: (nodeId: string) => boolean
  /** Every accepted frame, after its changes (if any) were queued for applying. */
  onFrame: (frame: GossipFrame) => void
  /** Changes from these senders depend on changes we never received: fetch the gap from them. */
  onGap: (senders: string[]) => void
  /** Local changes too big for a gossip frame were left to the sync sessions. */
  onOversized: () => void
}

/**
 * The fast path of replication: local changes go out at once as gossip frames (best effort);
 * received frames are validated before gossip forwards them and changes are applied in batches.
 * A bad frame is dropped, counted, logged, and rejected so gossipsub scores the sender.
 */
export class GossipChannel {
  private readonly init: GossipChannelInit
  private readonly selfId: string
  /** Frames decoded by the validator, so delivery does not decode them again. */
  private readonly decoded = new WeakMap<Uint8Array, GossipFrame>()
  /** Local changes of one tick go out together; remote ones are applied together (one applyChanges). */
  private readonly outgoing = new TickBatch<Uint8Array>((changes) => { this.publishChanges(changes) })
  private readonly incoming = new TickBatch<{ from: string, changes: Uint8Array[] }>((batch) => { this.applyBatch(batch) })
  private running = false

  constructor (init: GossipChannelInit) {
    this.init = init
    this.selfId = init.network.selfId
  }

  start (): void {
    this.running = true
    for (const topic of [this.init.topics.changes, this.init.topics.presence]) {
      this.init.network.subscribe(topic, { validate: this.validate, deliver: this.deliver })
    }
    this.init.store.on('change', this.onStoreChange)
  }

  stop (): void {
    this.running = false
    this.init.store.off('change', this.onStoreChange)
    for (const topic of [this.init.topics.changes, this.init.topics.presence]) this.init.network.unsubscribe(topic)
  }

  /**
   * Publishes one frame; a failure is only logged (sync repairs what gossip misses).
   * `onSent` learns how many peers it went to (0 also when publishing failed).
   */
  publish (topic: string, frame: GossipFrame, onSent?: (recipients: number) => void): void {
    const data = encodeGossip(frame)
    this.init.stats.gossipOut++
    this.init.stats.frames.add('out', 'gossip', frame.t)
    this.init.stats.gossipOutBytes += data.byteLength
    this.init.network.publish(topic, data).then((n) => { onSent?.(n) }, (err: unknown) => {
      this.init.logger.debug({ err, topic }, 'gossip publish failed; sync will repair')
      onSent?.(0)
    })
  }

  /**
   * Runs before a message is delivered or forwarded. Reject (malformed, or a frame speaking for
   * another node) lowers the sender's score; Ignore (a publisher outside the allow-list, relayed
   * by a member whose list differs) drops it without blaming the relay.
   */
  private readonly validate = (msg: GossipMessage): Verdict => {
    const { rejections } = this.init
    if (!this.init.allowPeer(msg.from)) {
      rejections.reject('gossip', new Error('publisher is not in the allow-list'), msg.from)
      return 'ignore'
    }
    let frame: GossipFrame
    try {
      frame = decodeGossip(msg.data)
    } catch (err) {
      rejections.reject('gossip', err, msg.from)
      return 'reject'
    }
    // The signed publisher must be the node the frame speaks for: no speaking for others.
    if (frame.node !== msg.from) {
      rejections.reject('gossip', new Error(`frame names node ${frame.node.slice(0, 64)} but was signed by ${msg.from}`), msg.from)
      return 'reject'
    }
    this.decoded.set(msg.data, frame)
    return 'accept'
  }

  private readonly deliver = (msg: GossipMessage): void => {
    const frame = this.decoded.get(msg.data)
    if (frame === undefined) return
    this.decoded.delete(msg.data)
    this.init.stats.gossipIn++
    this.init.stats.frames.add('in', 'gossip', frame.t)
    if (frame.t === 'changes') {
      this.incoming.push({ from: frame.node, changes: frame.changes })
    }
    this.init.onFrame(frame)
  }

  /** Applies everything that arrived in this tick with one applyChanges (far cheaper than one each). */
  private applyBatch (batch: Array<{ from: string, changes: Uint8Array[] }>): void {
    if (!this.running || batch.length === 0) return
    const { store, stats } = this.init
    try {
      store.applyRemote(batch.flatMap(b => b.changes))
      stats.changesApplied += batch.reduce((n, b) => n + b.changes.length, 0)
    } catch {
      // One bad frame must not sink the good ones: retry frame by frame.
      for (const b of batch) {
        try {
          store.applyRemote(b.changes)
          stats.changesApplied += b.changes.length
        } catch (err) {
          this.init.rejections.reject('gossip', err, b.from)
        }
      }
    }
    // Changes whose dependencies never reached us wait in Automerge's queue: fetch the gap now.
    if (store.missingDeps().length > 0) this.init.onGap([...new Set(batch.map(x => x.from))])
  }

  private readonly onStoreChange = (evt: DocChangeEvent): void => {
    if (evt.origin !== 'local') return
    this.outgoing.push(...evt.changes)
  }

  private publishChanges (changes: Uint8Array[]): void {
    if (!this.running || changes.length === 0) return
    const heads = this.init.store.heads()
    const limit = MAX_GOSSIP_FRAME_BYTES - FRAME_OVERHEAD_BYTES
    // Split so no frame exceeds the gossip limit; a single oversized change is left to sync.
    let batch: Uint8Array[] = []
    let size = 0
    const flush = (): void => {
      if (batch.length === 0) return
      this.publish(this.init.topics.changes, { v: WIRE_VERSION, t: 'changes', node: this.selfId, heads, changes: batch })
      batch = []
      size = 0
    }
    let oversized = false
    for (const c of changes) {
      if (c.byteLength > limit) {
        oversized = true
        continue
      }
      if (size + c.byteLength > limit) flush()
      batch.push(c)
      size += c.byteLength
    }
    flush()
    if (oversized) this.init.onOversized()
  }
}
