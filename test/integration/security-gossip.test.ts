import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub } from '@chainsafe/libp2p-gossipsub'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import * as lp from 'it-length-prefixed'
import { pipe } from 'it-pipe'
import { createLibp2p, type Libp2p } from 'libp2p'
import { genesis, str } from '../../crdt/schema.js'
import { encodeGossip, WIRE_VERSION } from '../../crdt/wire.js'
import { FleetNode } from '../../node/fleet-node.js'
import { silentLogger } from '../../node/logger.js'
import { createFleetLibp2p, type FleetLibp2p } from '../../node/net/libp2p.js'
import { DEFAULT_MAX_BAD_SYNC_FRAMES, topicsFor } from '../../node/net/replicator.js'
import { removeDir, tempDir } from '../../scripts/lib/node-process.js'
import { waitFor } from '../../scripts/lib/wait.js'

/** gossipsub's default thresholds (we keep them): below -80 every RPC of the peer is dropped unread. */
const GRAYLIST_THRESHOLD = -80

const topics = topicsFor('default')

/** A change that any fleet replica can apply (it builds on the shared genesis). */
function applicableChange (title: string): { change: Uint8Array, heads: string[] } {
  const doc = A.change(genesis('aa'.repeat(16)), (d) => { d.plan.title = str(title) })
  return { change: A.getLastLocalChange(doc) as Uint8Array, heads: A.getHeads(doc) }
}

function scoreOf (node: FleetNode, peer: string): number {
  return (node.libp2p.services.pubsub as unknown as GossipSub).getScore(peer)
}

describe('gossip and sync from a hostile member (in process)', function () {
  this.timeout(60_000)
  const dirs: string[] = []
  const nodes: FleetNode[] = []
  const peers: Array<Libp2p | FleetLibp2p> = []

  afterEach(async () => {
    for (const p of peers.splice(0)) await Promise.resolve(p.stop()).catch(() => {})
    for (const n of nodes.splice(0)) await n.stop().catch(() => {})
    for (const d of dirs.splice(0)) removeDir(d)
  })

  async function target (allowPeers?: string[]): Promise<FleetNode> {
    const dir = tempDir()
    dirs.push(dir)
    const n = await FleetNode.start({
      dataDir: dir,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [],
      http: { host: '127.0.0.1', port: 0 },
      cluster: 'default',
      logger: silentLogger(),
      ...(allowPeers === undefined ? {} : { allowPeers })
    })
    nodes.push(n)
    return n
  }

  async function intruder (): Promise<FleetLibp2p> {
    const p = await createFleetLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], topics: [topics.changes, topics.presence] })
    peers.push(p)
    return p
  }

  async function joined (from: Libp2p | FleetLibp2p, to: FleetNode | FleetLibp2p): Promise<void> {
    const addr = to instanceof FleetNode ? to.multiaddrs()[0] : to.getMultiaddrs()[0]?.toString()
    const toId = to instanceof FleetNode ? to.peerId : to.peerId.toString()
    const pubsub = from.services.pubsub as unknown as GossipSub
    pubsub.subscribe(topics.changes)
    await from.dial(multiaddr(addr ?? ''))
    await waitFor(() => pubsub.getSubscribers(topics.changes).some(p => p.toString() === toId), 'the target\'s subscription to reach the sender')
  }

  it('drops malformed gossip, counts it, and lowers the sender\'s score until it is graylisted', async () => {
    const t = await target()
    const bad = await intruder()
    const badId = bad.peerId.toString()
    await joined(bad, t)
    const heads = t.store.heads().join()
    assert.equal(scoreOf(t, badId), 0, 'a new peer starts at 0')

    await bad.services.pubsub.publish(topics.changes, Uint8Array.of(0xff, 0x00, 0x13))
    await waitFor(() => t.replicator.stats.gossipRejected >= 1, 'the target to count the malformed frame')
    await waitFor(() => scoreOf(t, badId) < 0 ? scoreOf(t, badId) : false, 'the sender\'s score to drop below 0')

    // A frame speaking for another node, and a frame with a corrupted change: both refused too.
    const { change, heads: fakeHeads } = applicableChange('forged')
    await bad.services.pubsub.publish(topics.changes, encodeGossip({ v: WIRE_VERSION, t: 'changes', node: t.peerId, heads: fakeHeads, changes: [change] }))
    const corrupted = Uint8Array.from(change)
    corrupted[corrupted.length - 2] = (corrupted[corrupted.length - 2] as number) ^ 1
    await bad.services.pubsub.publish(topics.changes, encodeGossip({ v: WIRE_VERSION, t: 'changes', node: badId, heads: fakeHeads, changes: [corrupted] }))
    await waitFor(() => t.replicator.stats.gossipRejected >= 3, 'the target to count all three bad frames')
    const score = await waitFor(() => scoreOf(t, badId) < GRAYLIST_THRESHOLD ? scoreOf(t, badId) : false, 'the sender to fall below the graylist threshold')
    assert.ok(score < GRAYLIST_THRESHOLD)
    assert.equal(t.store.heads().join(), heads, 'garbage changed the document')
  })

  it('rejects unsigned messages (StrictSign) even when their content is a valid change', async () => {
    const t = await target()
    const unsigned = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', allowPublishToZeroTopicPeers: true }) }
    })
    peers.push(unsigned)
    await joined(unsigned, t)
    const heads = t.store.heads().join()
    const { change, heads: newHeads } = applicableChange('unsigned write')
    await unsigned.services.pubsub.publish(topics.changes, encodeGossip({ v: WIRE_VERSION, t: 'changes', node: unsigned.peerId.toString(), heads: newHeads, changes: [change] }))
    await waitFor(() => scoreOf(t, unsigned.peerId.toString()) < 0, 'the unsigned sender\'s score to drop')
    assert.equal(t.store.heads().join(), heads, 'an unsigned message changed the document')
  })

  it('with an allow-list, ignores gossip published by an outsider even when a member relays it', async () => {
    const relay = await intruder() // a plain gossipsub relay, allowed by the target
    const t = await target([relay.peerId.toString()])
    const outsider = await intruder()
    await joined(relay, t)
    await joined(outsider, relay)
    await waitFor(() => (relay.services.pubsub as unknown as GossipSub).getMeshPeers(topics.changes).includes(t.peerId), 'the relay to put the target in its mesh')
    const heads = t.store.heads().join()

    const fromOutsider = applicableChange('written by an outsider')
    await outsider.services.pubsub.publish(topics.changes, encodeGossip({ v: WIRE_VERSION, t: 'changes', node: outsider.peerId.toString(), heads: fromOutsider.heads, changes: [fromOutsider.change] }))
    await waitFor(() => t.replicator.stats.gossipRejected >= 1, 'the target to drop the relayed outsider frame')
    assert.equal(t.store.heads().join(), heads, 'an outsider\'s change was applied')
    assert.equal(scoreOf(t, relay.peerId.toString()), 0, 'the relay was blamed for an outsider\'s message')

    // The same kind of change from the allowed member is applied: the list is what made the difference.
    const fromMember = applicableChange('written by a member')
    await relay.services.pubsub.publish(topics.changes, encodeGossip({ v: WIRE_VERSION, t: 'changes', node: relay.peerId.toString(), heads: fromMember.heads, changes: [fromMember.change] }))
    // Its change is concurrent with the target's own history (e.g. the alerts migration), so it
    // becomes one of the heads rather than all of them.
    await waitFor(() => fromMember.heads.every(h => t.store.heads().includes(h)), 'the member\'s change to be applied')

    // And the outsider cannot connect to the target directly: the target drops the connection
    // as soon as the outsider's identity is known (the dial itself may look fine to the dialer).
    await outsider.dial(multiaddr(t.multiaddrs()[0] ?? '')).catch(() => {})
    await waitFor(() => outsider.getConnections(t.libp2p.peerId).length === 0 && t.libp2p.getConnections(outsider.peerId).length === 0, 'the target to drop the outsider\'s connection')
    assert.ok(!t.replicator.connectedPeers().includes(outsider.peerId.toString()))
  })

  it(`closes a sync stream after ${DEFAULT_MAX_BAD_SYNC_FRAMES} bad frames; a new stream still works`, async () => {
    const t = await target()
    const bad = await intruder()
    await bad.dial(multiaddr(t.multiaddrs()[0] ?? ''))
    const stream = await bad.dialProtocol(multiaddr(t.multiaddrs()[0] ?? ''), topics.sync)
    const garbage = Array.from({ length: 3 * DEFAULT_MAX_BAD_SYNC_FRAMES }, (_, i) => Uint8Array.of(9, i))
    // Send the garbage and read until the target hangs up.
    const [, replies] = await Promise.all([
      pipe(garbage, (src) => lp.encode(src), stream.sink).catch(() => {}),
      (async () => { let n = 0; for await (const _ of lp.decode(stream.source)) n++; return n })().catch(() => -1)
    ])
    assert.ok(replies >= 0, 'the target reset the stream instead of closing it')
    await waitFor(() => t.replicator.stats.syncStreamsClosed === 1, 'the target to close the stream')
    assert.equal(t.replicator.stats.syncRejected, DEFAULT_MAX_BAD_SYNC_FRAMES, 'frames after the limit were still decoded')

    // Not a ban: a fresh stream speaking the protocol gets an answer (reset -> the target's sync message).
    const again = await bad.dialProtocol(multiaddr(t.multiaddrs()[0] ?? ''), topics.sync)
    const out = await waitForFirstFrame(again)
    assert.equal(out[0], 1, 'expected a sync message in reply to a reset')
  })
})

/** Sends one reset frame on a sync stream and returns the first frame the target sends back. */
async function waitForFirstFrame (stream: Awaited<ReturnType<FleetLibp2p['dialProtocol']>>): Promise<Uint8Array> {
  const reader = (async () => {
    for await (const buf of lp.decode(stream.source)) return buf.subarray()
    throw new Error('stream ended without a frame')
  })()
  // Keep the sink open until the reply arrived, so the target does not see the stream end first.
  let done!: () => void
  const held = new Promise<void>((resolve) => { done = resolve })
  void pipe((async function * () { yield Uint8Array.of(2); await held })(), (src) => lp.encode(src), stream.sink).catch(() => {})
  try {
    return await Promise.race([reader, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no reply within 10 s')), 10_000))])
  } finally {
    done()
  }
}
