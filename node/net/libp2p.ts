import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { gossipsub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { createTopicScoreParams, type TopicScoreParams } from '@chainsafe/libp2p-gossipsub/score'
import type { ConnectionGater, PeerId, PrivateKey, PubSub } from '@libp2p/interface'
import { createHash } from 'node:crypto'
import { MAX_GOSSIP_FRAME_BYTES } from '../../crdt/wire.js'
import { installKeyCache } from './key-cache.js'

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
  /** Peer ids allowed to connect, either way; default: anyone (who holds the swarm key). */
  allowPeers?: readonly string[]
}

/**
 * Invalid messages on a fleet topic cost the sender (P4 in gossipsub's score, quadratic):
 * one is -10 (at the gossip threshold), three reach -90, below the graylist threshold (-80),
 * where every RPC of that peer is dropped unread. The counter decays by 1% a second, so a peer
 * that stops recovers within seconds while a steady sender of garbage stays graylisted.
 */
export const INVALID_MESSAGE_WEIGHT = -10
export const INVALID_MESSAGE_DECAY = 0.99

/**
 * Scoring for fleet topics: only invalid messages count. The positive and mesh-delivery terms
 * are off because in a small cluster most nodes are quiet most of the time, and a quiet node is
 * not a misbehaving one.
 */
export function fleetTopicScoreParams (): TopicScoreParams {
  return createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0,
    firstMessageDeliveriesWeight: 0,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
    invalidMessageDeliveriesDecay: INVALID_MESSAGE_DECAY
  })
}

/** Refuses every peer not on the list, on dial and once an inbound connection is authenticated. */
export function allowListGater (allowPeers: readonly string[]): ConnectionGater {
  const allowed = new Set(allowPeers)
  const deny = (peerId: PeerId): boolean => !allowed.has(peerId.toString())
  return {
    denyDialPeer: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny
  }
}

/** Inbound connections accepted per second from one host (libp2p's default is 5). */
export const DEFAULT_INBOUND_PER_HOST_PER_S = 100
/** Inbound connections being upgraded at once (libp2p's default is 10). */
export const DEFAULT_MAX_PENDING_INBOUND = 64

/**
 * The libp2p stack of a fleet node: TCP, noise, yamux, identify and gossipsub (with signed
 * messages, StrictSign being gossipsub's default). Versions are pinned as a set: gossipsub 14 speaks
 * @libp2p/interface 2 (libp2p 2.x); with libp2p 3 it starts but never exchanges subscriptions.
 */
export async function createFleetLibp2p (init: FleetLibp2pInit): Promise<FleetLibp2p> {
  // Every received gossip message is signature-checked: keep peers' key objects (key-cache.ts).
  installKeyCache()
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      // libp2p's defaults (5 inbound connections per second per remote host, 10 upgrades pending)
      // are for a public node facing strangers. Fleet peers are few and known; several nodes on
      // one host (tests, the demo) all dial from the same address, and a node many joiners dial at
      // once (a bootstrap node) refused or stalled them.
      inboundConnectionThreshold: DEFAULT_INBOUND_PER_HOST_PER_S,
      maxIncomingPendingConnections: DEFAULT_MAX_PENDING_INBOUND
    },
    // Loaded only for a private network: an open one never needs it.
    ...(init.swarmKey === undefined ? {} : { connectionProtector: (await import('@libp2p/pnet')).preSharedKey({ psk: init.swarmKey }) }),
    ...(init.allowPeers === undefined ? {} : { connectionGater: allowListGater(init.allowPeers) }),
    // libp2p's own liveness check opens a ping stream on every connection every 10 s (a stream
    // negotiation each way per connection) and aborts a connection whose ping waited over 5 s,
    // which on a loaded machine is any event-loop stall: the session closes, the neighbour sets
    // change, and announcements and indirect probes follow. SWIM already probes every neighbour
    // each round on the sync stream and declares a silent member dead within the liveness window;
    // the replicator then hangs up on it (Replicator, onPeerChange), which is what the monitor was for.
    connectionMonitor: { enabled: false },
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
        scoreParams: {
          topics: Object.fromEntries(init.topics.map(t => [t, fleetTopicScoreParams()])),
          // Colocation (many peer ids behind one IP) flags Sybils on open networks; in a keyed
          // cluster it would only punish several nodes run on one machine.
          IPColocationFactorWeight: 0
        },
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
