import { EventEmitter } from 'node:events'
import type { Message, PeerId, Stream } from '@libp2p/interface'
import { TopicValidatorResult } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { pushable } from 'it-pushable'
import { pipe } from 'it-pipe'
import * as lp from 'it-length-prefixed'
import type { Logger } from '../logger.js'
import type { FleetLibp2p } from './libp2p.js'
import type { ChannelOptions, FleetNetwork, FleetNetworkEvents, FrameChannel, GossipMessage, TopicHandler, Verdict } from './network.js'

/** At most this many sync streams a peer may open to us at once (one is normal; a restart overlaps). */
export const DEFAULT_MAX_INBOUND_STREAMS = 4

const VERDICTS: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  reject: TopicValidatorResult.Reject,
  ignore: TopicValidatorResult.Ignore
}

export interface Libp2pNetworkInit {
  libp2p: FleetLibp2p
  logger: Logger
}

/**
 * FleetNetwork over libp2p: gossipsub topics (signed messages, StrictSign, so `from` is the
 * verified publisher) and length-prefixed frames on libp2p streams.
 */
export class Libp2pNetwork extends EventEmitter<FleetNetworkEvents> implements FleetNetwork {
  readonly selfId: string
  private readonly libp2p: FleetLibp2p
  private readonly log: Logger
  private readonly topics = new Map<string, TopicHandler>()
  /** Messages the validator accepted, so delivery does not build a second GossipMessage. */
  private readonly accepted = new WeakMap<Message, GossipMessage>()
  private readonly handled = new Set<string>()
  private listening = false

  constructor (init: Libp2pNetworkInit) {
    super()
    this.libp2p = init.libp2p
    this.log = init.logger
    this.selfId = init.libp2p.peerId.toString()
  }

  addresses (): string[] {
    return this.libp2p.getMultiaddrs().map(a => a.toString())
  }

  connections (): string[] {
    return [...new Set(this.libp2p.getConnections().map(c => c.remotePeer.toString()))]
  }

  subscribe (topic: string, handler: TopicHandler): void {
    this.listen()
    const pubsub = this.libp2p.services.pubsub
    this.topics.set(topic, handler)
    pubsub.topicValidators.set(topic, (_peer, msg) => {
      // StrictSign already dropped unsigned messages; this guards against a policy change.
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      const m: GossipMessage = { topic, from: msg.from.toString(), data: msg.data }
      const verdict = handler.validate(m)
      if (verdict === 'accept') this.accepted.set(msg, m)
      return VERDICTS[verdict]
    })
    pubsub.subscribe(topic)
  }

  unsubscribe (topic: string): void {
    const pubsub = this.libp2p.services.pubsub
    this.topics.delete(topic)
    pubsub.topicValidators.delete(topic)
    pubsub.unsubscribe(topic)
    this.unlistenIfIdle()
  }

  async publish (topic: string, data: Uint8Array): Promise<number> {
    return (await this.libp2p.services.pubsub.publish(topic, data)).recipients.length
  }

  async handle (protocol: string, onChannel: (peer: string, channel: FrameChannel) => void, options: ChannelOptions): Promise<void> {
    this.listen()
    this.handled.add(protocol)
    await this.libp2p.handle(protocol, ({ stream, connection }) => {
      onChannel(connection.remotePeer.toString(), this.channel(stream, options))
    }, { maxInboundStreams: DEFAULT_MAX_INBOUND_STREAMS, runOnLimitedConnection: false })
  }

  async unhandle (protocol: string): Promise<void> {
    this.handled.delete(protocol)
    this.unlistenIfIdle()
    await this.libp2p.unhandle(protocol)
  }

  async openChannel (peer: string, protocol: string, options: ChannelOptions): Promise<FrameChannel> {
    const stream = await this.libp2p.dialProtocol(peerIdFromString(peer), protocol)
    return this.channel(stream, options)
  }

  async hangUp (peer: string): Promise<void> {
    await this.libp2p.hangUp(peerIdFromString(peer))
  }

  private channel (stream: Stream, options: ChannelOptions): FrameChannel {
    const out = pushable<Uint8Array>()
    pipe(out, (src) => lp.encode(src), stream.sink).catch((err: unknown) => {
      this.log.debug({ err }, 'stream send ended')
    })
    async function * frames (): AsyncGenerator<Uint8Array> {
      for await (const buf of lp.decode(stream.source, { maxDataLength: options.maxFrameBytes })) yield buf.subarray()
    }
    let closed = false
    return {
      send: (frame) => { out.push(frame) },
      frames: frames(),
      close: () => {
        if (closed) return
        closed = true
        out.end()
        stream.close().catch(() => { stream.abort(new Error('closing')) })
      }
    }
  }

  private listen (): void {
    if (this.listening) return
    this.listening = true
    this.libp2p.services.pubsub.addEventListener('message', this.onMessage)
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
  }

  /** Listeners stay while anything is subscribed or handled. */
  private unlistenIfIdle (): void {
    if (!this.listening || this.topics.size > 0 || this.handled.size > 0) return
    this.listening = false
    this.libp2p.services.pubsub.removeEventListener('message', this.onMessage)
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    const msg = evt.detail
    // Only messages a validator accepted get here (gossipsub runs it before delivery).
    const m = this.accepted.get(msg)
    if (m === undefined) return
    this.accepted.delete(msg)
    this.topics.get(m.topic)?.deliver(m)
  }

  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    this.emit('peer:ready', evt.detail.peerId.toString(), evt.detail.protocols)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.emit('peer:disconnect', evt.detail.toString())
  }
}
