import { EventEmitter } from 'node:events'
import { pushable, type Pushable } from 'it-pushable'
import type { ChannelOptions, FleetNetwork, FleetNetworkEvents, FrameChannel, GossipMessage, TopicHandler } from './network.js'

/**
 * An in-process network of FleetNetwork endpoints for tests and the simulator. Links are explicit
 * (connect/disconnect, like the dialer's connections); gossip floods over links with duplicate
 * suppression, as gossipsub's mesh does; channels are in-order and lossless while the link lives
 * (TCP). Faults: per-hop latency, loss of gossip hops, partitions (cut links, refuse new ones) and
 * crashes (an endpoint vanishes without a goodbye).
 */

export const DEFAULT_MEMORY_LATENCY_MS = 1
/** Message ids remembered per endpoint for duplicate suppression (a ring, oldest forgotten first). */
export const DEFAULT_SEEN_CACHE = 4096

export interface MemoryHubInit {
  /** One hop's delay in ms, drawn per message (default DEFAULT_MEMORY_LATENCY_MS). */
  latencyMs?: number | (() => number)
  /** Probability that one gossip hop is lost (default 0). */
  loss?: number
  /** Randomness for loss and latency draws (default Math.random). */
  random?: () => number
}

export class MemoryNetworkError extends Error {
  override name = 'MemoryNetworkError'
  constructor (message: string, readonly code: 'NOT_CONNECTED' | 'NO_HANDLER' | 'CRASHED' | 'FRAME_TOO_LARGE') {
    super(message)
  }
}

interface Envelope { id: number, topic: string, from: string, data: Uint8Array }

/** Counters per endpoint: what the simulator reports as messages per node. */
export interface MemoryEndpointStats {
  gossipIn: number
  gossipOut: number
  framesIn: number
  framesOut: number
}

export class MemoryHub {
  readonly endpoints = new Map<string, MemoryNetwork>()
  private readonly latency: () => number
  private readonly loss: number
  readonly random: () => number
  private nextId = 1
  /** Node id to partition group; nodes in different groups cannot talk. Empty: no partition. */
  private groups = new Map<string, number>()

  constructor (init: MemoryHubInit = {}) {
    const l = init.latencyMs ?? DEFAULT_MEMORY_LATENCY_MS
    this.latency = typeof l === 'number' ? () => l : l
    this.loss = init.loss ?? 0
    this.random = init.random ?? Math.random
  }

  /** A new endpoint (a node's network) with this id. */
  endpoint (id: string): MemoryNetwork {
    const ep = new MemoryNetwork(this, id)
    this.endpoints.set(id, ep)
    return ep
  }

  reachable (a: string, b: string): boolean {
    const ea = this.endpoints.get(a)
    const eb = this.endpoints.get(b)
    if (ea === undefined || eb === undefined || ea.crashed || eb.crashed) return false
    return (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0)
  }

  /** Opens a direct link (both sides see peer:ready); false if they cannot reach each other. */
  connect (a: string, b: string): boolean {
    if (a === b || !this.reachable(a, b)) return false
    const ea = this.endpoints.get(a) as MemoryNetwork
    const eb = this.endpoints.get(b) as MemoryNetwork
    if (ea.links.has(b)) return true
    ea.links.add(b)
    eb.links.add(a)
    ea.ready(b, eb.protocols())
    eb.ready(a, ea.protocols())
    return true
  }

  disconnect (a: string, b: string): void {
    const ea = this.endpoints.get(a)
    const eb = this.endpoints.get(b)
    if (ea?.links.delete(b) === true) ea.lost(b)
    if (eb?.links.delete(a) === true) eb.lost(a)
  }

  /** Splits the nodes into groups that cannot reach each other; links across groups are cut. */
  partition (groups: string[][]): void {
    this.groups = new Map(groups.flatMap((g, i) => g.map(id => [id, i + 1] as const)))
    for (const ep of this.endpoints.values()) {
      for (const peer of [...ep.links]) if (!this.reachable(ep.selfId, peer)) this.disconnect(ep.selfId, peer)
    }
  }

  heal (): void {
    this.groups = new Map()
  }

  /** The node vanishes: its links close on the far side as a dead TCP connection eventually does. */
  crash (id: string): void {
    const ep = this.endpoints.get(id)
    if (ep === undefined) return
    ep.crashed = true
    for (const peer of [...ep.links]) this.disconnect(id, peer)
  }

  newMessageId (): number {
    return this.nextId++
  }

  /** Runs fn after one hop's latency, unless the hop is lost (lossy hops only). */
  hop (fn: () => void, lossy: boolean): void {
    if (lossy && this.loss > 0 && this.random() < this.loss) return
    this.at(Date.now() + this.latency(), fn)
  }

  /** When a message sent now would arrive. */
  arrival (): number {
    return Date.now() + this.latency()
  }

  at (due: number, fn: () => void): void {
    const d = due - Date.now()
    if (d <= 0) setImmediate(fn)
    else setTimeout(fn, d)
  }
}

interface Handler { onChannel: (peer: string, channel: FrameChannel) => void, options: ChannelOptions }

/** One node's view of the in-memory network. */
export class MemoryNetwork extends EventEmitter<FleetNetworkEvents> implements FleetNetwork {
  readonly links = new Set<string>()
  readonly stats: MemoryEndpointStats = { gossipIn: 0, gossipOut: 0, framesIn: 0, framesOut: 0 }
  crashed = false
  private readonly topics = new Map<string, TopicHandler>()
  private readonly handlers = new Map<string, Handler>()
  private readonly seen = new Set<number>()
  private readonly seenOrder: number[] = []
  /** Closers of the open channels with each peer: a lost link ends them all. */
  readonly channels = new Map<string, Set<() => void>>()

  constructor (private readonly hub: MemoryHub, readonly selfId: string) {
    super()
  }

  addresses (): string[] {
    return [`/memory/${this.selfId}`]
  }

  connections (): string[] {
    return [...this.links]
  }

  protocols (): string[] {
    return [...this.handlers.keys()]
  }

  ready (peer: string, protocols: string[]): void {
    this.emit('peer:ready', peer, protocols)
  }

  lost (peer: string): void {
    for (const close of this.channels.get(peer) ?? []) close()
    this.channels.delete(peer)
    this.emit('peer:disconnect', peer)
  }

  subscribe (topic: string, handler: TopicHandler): void {
    this.topics.set(topic, handler)
  }

  unsubscribe (topic: string): void {
    this.topics.delete(topic)
  }

  async publish (topic: string, data: Uint8Array): Promise<number> {
    if (this.crashed) throw new MemoryNetworkError('endpoint crashed', 'CRASHED')
    const env: Envelope = { id: this.hub.newMessageId(), topic, from: this.selfId, data }
    this.remember(env.id)
    this.forward(env, null)
    return this.links.size
  }

  private forward (env: Envelope, except: string | null): void {
    for (const peer of this.links) {
      if (peer === except) continue
      this.stats.gossipOut++
      this.hub.hop(() => { this.hub.endpoints.get(peer)?.receiveGossip(env, this.selfId) }, true)
    }
  }

  receiveGossip (env: Envelope, via: string): void {
    if (this.crashed || !this.links.has(via)) return
    this.stats.gossipIn++
    if (this.seen.has(env.id)) return
    this.remember(env.id)
    const handler = this.topics.get(env.topic)
    if (handler === undefined) return
    const msg: GossipMessage = { topic: env.topic, from: env.from, data: env.data }
    if (handler.validate(msg) !== 'accept') return
    handler.deliver(msg)
    this.forward(env, via)
  }

  private remember (id: number): void {
    this.seen.add(id)
    this.seenOrder.push(id)
    if (this.seenOrder.length > DEFAULT_SEEN_CACHE) this.seen.delete(this.seenOrder.shift() as number)
  }

  async handle (protocol: string, onChannel: (peer: string, channel: FrameChannel) => void, options: ChannelOptions): Promise<void> {
    this.handlers.set(protocol, { onChannel, options })
  }

  async unhandle (protocol: string): Promise<void> {
    this.handlers.delete(protocol)
  }

  async openChannel (peer: string, protocol: string, options: ChannelOptions): Promise<FrameChannel> {
    if (this.crashed) throw new MemoryNetworkError('endpoint crashed', 'CRASHED')
    if (!this.links.has(peer)) throw new MemoryNetworkError(`not connected to ${peer}`, 'NOT_CONNECTED')
    const remote = this.hub.endpoints.get(peer)
    const handler = remote?.handlers.get(protocol)
    if (remote === undefined || handler === undefined) throw new MemoryNetworkError(`${peer} does not handle ${protocol}`, 'NO_HANDLER')
    const [mine, theirs] = channelPair(this.hub, this, remote, options.maxFrameBytes, handler.options.maxFrameBytes)
    handler.onChannel(this.selfId, theirs)
    return mine
  }
}

/** Two channel ends; frames keep their order (a later frame never overtakes an earlier one). */
function channelPair (hub: MemoryHub, a: MemoryNetwork, b: MemoryNetwork, maxA: number, maxB: number): [FrameChannel, FrameChannel] {
  const inA = pushable<Uint8Array>()
  const inB = pushable<Uint8Array>()
  let open = true
  const linkAlive = (): boolean => open && a.links.has(b.selfId) && !a.crashed && !b.crashed
  const track = (ep: MemoryNetwork, peer: string, add: boolean): void => {
    let set = ep.channels.get(peer)
    if (set === undefined && add) ep.channels.set(peer, set = new Set())
    if (add) set?.add(close)
    else set?.delete(close)
  }
  function close (): void {
    if (!open) return
    open = false
    track(a, b.selfId, false)
    track(b, a.selfId, false)
    inA.end()
    inB.end()
  }
  track(a, b.selfId, true)
  track(b, a.selfId, true)
  const end = (from: MemoryNetwork, to: MemoryNetwork, inbox: Pushable<Uint8Array>, outbox: Pushable<Uint8Array>, max: number): FrameChannel => {
    let lastAt = 0
    return {
      send: (frame) => {
        if (!linkAlive()) return
        from.stats.framesOut++
        // In order: each frame is due no earlier than the one before it.
        const due = Math.max(lastAt, hub.arrival())
        lastAt = due
        hub.at(due, () => {
          if (!linkAlive()) return
          to.stats.framesIn++
          if (frame.byteLength > max) {
            outbox.end(new MemoryNetworkError(`frame of ${frame.byteLength} bytes exceeds ${max}`, 'FRAME_TOO_LARGE'))
            return
          }
          outbox.push(frame)
        })
      },
      frames: inbox,
      close
    }
  }
  return [end(a, b, inA, inB, maxB), end(b, a, inB, inA, maxA)]
}
