import type { EventEmitter } from 'node:events'

/**
 * The network the fleet protocols run over: topic gossip (publish, validate, deliver), and
 * in-order frame channels to directly connected peers. libp2p implements it in production
 * (node/net/libp2p-network.ts); an in-memory network (node/net/memory-network.ts) runs the same
 * protocols in tests and in the simulator, with latency, loss, partitions and crashes.
 */

/** A gossip message as delivered: `from` is the publisher the network authenticated (signer). */
export interface GossipMessage {
  topic: string
  from: string
  data: Uint8Array
}

/**
 * What a topic validator decides before a message is delivered or forwarded. `reject` blames the
 * peer that sent it (gossipsub lowers its score); `ignore` drops it without blame.
 */
export type Verdict = 'accept' | 'reject' | 'ignore'

export interface TopicHandler {
  /** Runs first, for every message; only accepted messages are delivered and forwarded. */
  validate: (msg: GossipMessage) => Verdict
  deliver: (msg: GossipMessage) => void
}

/** An in-order, bidirectional stream of frames with one peer. */
export interface FrameChannel {
  /** Queues one frame (never blocks; frames arrive in order or not at all). */
  send: (frame: Uint8Array) => void
  /** Frames received, in order; ends when either side closes or the link fails. */
  readonly frames: AsyncIterable<Uint8Array>
  close: () => void
}

export interface ChannelOptions {
  /** Frames larger than this end the channel with an error (the peer is broken or hostile). */
  maxFrameBytes: number
}

export interface FleetNetworkEvents {
  /** A directly connected peer is ready and speaks these protocols. */
  'peer:ready': [peer: string, protocols: string[]]
  'peer:disconnect': [peer: string]
}

export interface FleetNetwork extends Pick<EventEmitter<FleetNetworkEvents>, 'on' | 'off'> {
  readonly selfId: string
  /** Addresses others can dial us on (peer exchange); empty where that has no meaning. */
  addresses: () => string[]
  /** Peers with an open direct connection. */
  connections: () => string[]
  subscribe: (topic: string, handler: TopicHandler) => void
  unsubscribe: (topic: string) => void
  /**
   * Best effort: resolves once handed to the network with the number of peers it was sent to
   * (0: nobody, e.g. a joiner that has not yet heard any peer's subscriptions).
   */
  publish: (topic: string, data: Uint8Array) => Promise<number>
  /** Accepts channels peers open on `protocol`. */
  handle: (protocol: string, onChannel: (peer: string, channel: FrameChannel) => void, options: ChannelOptions) => Promise<void>
  unhandle: (protocol: string) => Promise<void>
  openChannel: (peer: string, protocol: string, options: ChannelOptions) => Promise<FrameChannel>
  /** Closes every connection to a peer (one membership declared dead); optional where links are not ours to close. */
  hangUp?: (peer: string) => Promise<void>
}
