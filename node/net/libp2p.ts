import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { gossipsub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { preSharedKey } from '@libp2p/pnet'
import type { PrivateKey, PubSub } from '@libp2p/interface'
import { createHash } from 'node:crypto'
import { MAX_GOSSIP_FRAME_BYTES } from '../../crdt/wire.js'

export type FleetServices = { identify: Identify, pubsub: PubSub<GossipsubEvents> }
export type FleetLibp2p = Libp2p<FleetServices>

export interface FleetLibp2pInit {
  privateKey: PrivateKey
  /** Multiaddrs to listen on. */
  listen: string[]
  /** Topics this node may see; anything else is dropped by gossipsub itself. */
  topics: string[]
  /** A libp2p private-network key (the swarm.key file's bytes): strangers cannot connect. */
  swarmKey?: Uint8Array
}

/**
 * The libp2p stack of a fleet node: TCP, noise, yamux, identify and gossipsub (with signed
 * messages, StrictSign being gossipsub's default). Versions are pinned as a set (see STACK.md).
 */
export async function createFleetLibp2p (init: FleetLibp2pInit): Promise<FleetLibp2p> {
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.swarmKey === undefined ? {} : { connectionProtector: preSharedKey({ psk: init.swarmKey }) }),
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // Gossip is the fast path only; anti-entropy sync repairs whatever it misses, so a
        // publish with nobody subscribed yet is not an error.
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        fallbackToFloodsub: false,
        emitSelf: false,
        allowedTopics: init.topics,
        maxInboundDataLength: MAX_GOSSIP_FRAME_BYTES + 64 * 1024,
        // In a small, fully meshed cluster every message arrives once per peer; recognising the
        // copies by their (deterministic Ed25519) signature skips verifying each one again.
        // A forged copy has another signature, so it cannot shadow the real message.
        fastMsgIdFn: (m) => m.signature !== undefined
          ? Buffer.from(m.signature).toString('base64')
          : createHash('sha256').update(m.data ?? new Uint8Array()).digest('base64')
      })
    }
  })
}
