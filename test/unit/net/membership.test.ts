import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { putIn } from '../../../crdt/collections.js'
import { DocStore } from '../../../crdt/doc-store.js'
import type { DocAssignment } from '../../../crdt/schema.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import type { AgentBeat, AnnounceFrame } from '../../../crdt/wire.js'
import { silentLogger } from '../../../node/logger.js'
import { MemoryHub } from '../../../node/net/memory-network.js'
import { Replicator, type ReplicatorInit } from '../../../node/net/replicator.js'
import { overlayKnown } from '../../../scripts/lib/sim-node.js'
import { waitFor } from '../../../scripts/lib/wait.js'

const S = (s: string): A.ImmutableString => new A.ImmutableString(s)

function claim (id: string, nodeId: string): DocAssignment {
  return {
    id: S(id), taskId: S('T1'), agentId: S('agent'), nodeId: S(nodeId), attempt: 0, clock: 1, claimedAt: 1,
    confirmedAt: null, state: S('active'), progress: 0, message: null, summary: null, endedAt: null
  } as unknown as DocAssignment
}

/** Presence and acknowledgements (node/net/membership.ts) over the in-memory network. */
describe('membership: no keepalives, heartbeat deltas, direct claim acks', function () {
  this.timeout(30_000)
  const running: Array<{ replicator: Replicator, store: DocStore }> = []
  afterEach(async () => {
    for (const r of running.splice(0)) {
      await r.replicator.stop()
      await r.store.close()
    }
  })

  async function node (hub: MemoryHub, id: string, extra: Partial<ReplicatorInit> = {}): Promise<{ replicator: Replicator, store: DocStore }> {
    const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    const replicator = new Replicator({ store, logger: silentLogger(), ...extra, network: extra.network ?? hub.endpoint(id) })
    await replicator.start()
    const n = { replicator, store }
    running.push(n)
    return n
  }

  it('an idle node announces nothing after joining (probes show it alive), and a changed heartbeat at once with only that beat', async () => {
    const hub = new MemoryHub()
    let beats: AgentBeat[] = [{ id: 'A', at: 1, assignment: null, status: 'idle' }, { id: 'B', at: 1, assignment: null, status: 'idle' }]
    const a = await node(hub, 'a', { announceIntervalMs: 20, presence: () => ({ http: null, beats }) })
    const b = await node(hub, 'b', { announceIntervalMs: 20 })
    const frames: AnnounceFrame[] = []
    b.replicator.on('announce', (f) => { if (f.node === 'a') frames.push(f) })
    hub.connect('a', 'b')
    await waitFor(() => frames.length >= 1, 'a first announcement from a')
    const t0 = Date.now()
    const n0 = frames.length
    const probes0 = a.replicator.members.prober.stats.probes
    await waitFor(() => Date.now() - t0 >= 3000, 'three seconds of idling', 10_000)
    assert.equal(frames.length - n0, 0, 'no announcement while nothing changed')
    assert.ok(a.replicator.members.prober.stats.probes - probes0 >= 1, 'a kept probing b instead')
    assert.deepEqual(b.replicator.peers.live().map(p => p.nodeId), ['a'], 'and b still holds a live')
    assert.ok(frames.every(f => f.beats.length === 2), 'the joining announcement carries every heartbeat')
    beats = [{ id: 'A', at: 2, assignment: 'x', status: 'working' }, beats[1] as AgentBeat]
    const before = frames.length
    await waitFor(() => frames.length > before, 'an announcement right after the heartbeat changed', 1000, 5)
    assert.deepEqual(frames[before]?.beats.map(x => x.id), ['A'], 'only the changed heartbeat')
  })

  it('a joiner whose first announcement reached nobody (gossip had not heard any subscription yet) announces again, and the cluster beyond its neighbour hears of it', async () => {
    const hub = new MemoryHub()
    // c and b formed; a joins through b alone, and its first presence publish goes nowhere, as in
    // gossipsub when the joiner publishes before the bootstrap peer's subscriptions arrived.
    const b = await node(hub, 'b', { announceIntervalMs: 50 })
    const c = await node(hub, 'c', { announceIntervalMs: 50 })
    hub.connect('b', 'c')
    const inner = hub.endpoint('a')
    let joined = false
    let unheard = 0
    const network = new Proxy(inner, {
      get: (target, prop: keyof typeof inner) => {
        if (prop === 'publish') {
          return async (topic: string, data: Uint8Array): Promise<number> => {
            if (joined && topic.includes('/presence/') && unheard === 0) {
              unheard++
              return 0
            }
            return await target.publish(topic, data)
          }
        }
        const v = target[prop]
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v
      }
    })
    const a = await node(hub, 'a', { announceIntervalMs: 50, network })
    const heard: AnnounceFrame[] = []
    c.replicator.on('announce', (f) => { if (f.node === 'a') heard.push(f) })
    joined = true
    hub.connect('a', 'b')
    await waitFor(() => heard.length >= 1, 'c, not a neighbour of a, to hear a\'s announcement', 5_000, 10)
    assert.equal(unheard, 1, 'the joining announcement reached nobody')
    assert.equal(a.replicator.members.stats.reannounced, 1, 'announced again once, not every tick')
  })

  it('after a claim, other nodes send their heads to the claiming node directly, not by broadcast', async () => {
    const hub = new MemoryHub()
    // No keepalives: once membership settled, any gossip b or c publishes would be an ack by broadcast.
    const nodes = [await node(hub, 'a'), await node(hub, 'b'), await node(hub, 'c')]
    const [a, b, c] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]]
    hub.connect('a', 'b'); hub.connect('b', 'c'); hub.connect('a', 'c')
    await waitFor(() => nodes.every(n => n.replicator.connectedPeers().length === 2 && n.replicator.peers.all().filter(p => p.status === 'alive').length === 2), 'a full mesh of sync sessions, every member alive everywhere')
    await waitFor(() => nodes.every(n => n.replicator.members.stats.pushPulls >= 2), 'every member list swapped on connect to arrive (news from them is gossiped on arrival)')
    await waitFor(() => overlayKnown(nodes.map(n => n.replicator)), 'every node to know every other\'s neighbours (the settled overlay announced)')
    const announcesBefore = b.replicator.stats.gossipOut + c.replicator.stats.gossipOut
    await a.store.change((d) => { putIn(d.assignments, 'as-1', claim('as-1', 'a')) }, 'claim')
    const want = a.store.heads().join()
    await waitFor(() => ['b', 'c'].every(id => a.replicator.peers.find(id)?.heads.join() === want), 'a to hold b\'s and c\'s heads including its claim')
    assert.equal(b.replicator.stats.gossipOut + c.replicator.stats.gossipOut, announcesBefore, 'b and c published nothing to acknowledge the claim')
  })

  it('routes acks to a claimant that is not a neighbour hop by hop over the announced links, with no broadcast', async () => {
    const hub = new MemoryHub()
    const [a, b, c] = [await node(hub, 'a'), await node(hub, 'b'), await node(hub, 'c')]
    hub.connect('a', 'b'); hub.connect('b', 'c')
    await waitFor(() => c.replicator.connectedPeers().length === 1, 'c connected to b only')
    await waitFor(() => overlayKnown([a, b, c].map(n => n.replicator)), 'every node to know every other\'s neighbours (the settled overlay announced)')
    assert.equal(c.replicator.members.acks.routes.nextHop('a'), 'b', 'c routes to a through b')
    const gossipBefore = b.replicator.stats.gossipOut + c.replicator.stats.gossipOut
    await a.store.change((d) => { putIn(d.assignments, 'as-2', claim('as-2', 'a')) }, 'claim')
    const want = a.store.heads().join()
    await waitFor(() => ['b', 'c'].every(id => a.replicator.peers.find(id)?.heads.join() === want), 'a to hold b\'s heads (direct) and c\'s (relayed by b), both including its claim')
    assert.equal(b.replicator.stats.gossipOut + c.replicator.stats.gossipOut, gossipBefore, 'no announcement was needed to acknowledge the claim')
    assert.equal(c.replicator.members.acks.stats.relayFrames, 1, 'c handed its ack to b')
    assert.equal(b.replicator.members.acks.stats.relayedAcks, 1, 'b passed c\'s ack on to a')
  })

  it('falls back to an announcement when no known path reaches the claimant', async () => {
    const hub = new MemoryHub()
    const [a, , c] = [await node(hub, 'a'), await node(hub, 'b'), await node(hub, 'c')]
    hub.connect('a', 'b'); hub.connect('b', 'c')
    await waitFor(() => c.replicator.connectedPeers().length === 1, 'c connected to b only')
    // c forgets the overlay (as if a's and b's announcements had not reached it yet).
    const known = ['a', 'b'].map(id => c.replicator.peers.get(id))
    await waitFor(() => known.every(p => p.nbrs.length > 0), 'a\'s and b\'s links announced to c')
    for (const p of known) p.nbrs = []
    c.replicator.members.acks.routes.invalidate()
    const broadcasts = c.replicator.members.acks.stats.broadcasts
    await a.store.change((d) => { putIn(d.assignments, 'as-3', claim('as-3', 'a')) }, 'claim')
    const want = a.store.heads().join()
    await waitFor(() => a.replicator.peers.find('c')?.heads.join() === want, 'a to learn c\'s heads through c\'s announcement, relayed by b')
    assert.equal(c.replicator.members.acks.stats.broadcasts, broadcasts + 1, 'c announced because it knew no path')
  })

  it('in a 12-node overlay of degree 4, every node acks a claim without any announcement, in a few frames each', async () => {
    const hub = new MemoryHub({ latencyMs: 1 })
    const ids = Array.from({ length: 12 }, (_, i) => `n${String(i).padStart(2, '0')}`)
    const nodes = await Promise.all(ids.map(async id => await node(hub, id, { announceIntervalMs: 50 })))
    // A ring with chords to the node 3 ahead: diameter 3 from any node, degree 4.
    for (let i = 0; i < ids.length; i++) {
      hub.connect(ids[i] as string, ids[(i + 1) % ids.length] as string)
      hub.connect(ids[i] as string, ids[(i + 3) % ids.length] as string)
    }
    const claimant = nodes[0] as typeof nodes[0]
    await waitFor(() => overlayKnown(nodes.map(n => n.replicator)), 'every node to know every other\'s neighbours (the settled overlay announced)', 20_000)
    const gossipBefore = nodes.slice(1).reduce((s, n) => s + n.replicator.stats.gossipOut, 0)
    const framesBefore = nodes.map(n => n.replicator.members.acks.stats.relayFrames + n.replicator.members.acks.stats.direct)
    await claimant.store.change((d) => { putIn(d.assignments, 'as-4', claim('as-4', 'n00')) }, 'claim')
    const want = claimant.store.heads().join()
    await waitFor(() => ids.slice(1).every(id => claimant.replicator.peers.find(id)?.heads.join() === want), 'n00 to hold every other node\'s heads including its claim')
    assert.equal(nodes.slice(1).reduce((s, n) => s + n.replicator.stats.gossipOut, 0), gossipBefore, 'no node announced to acknowledge')
    // Each node sends its own ack, and hands on others' gathered per 20 ms window: at most one
    // frame per hop of the longest path (the diameter, 3 here), not one per acking node.
    const sent = nodes.map((n, i) => n.replicator.members.acks.stats.relayFrames + n.replicator.members.acks.stats.direct - (framesBefore[i] as number))
    assert.ok(sent.every(x => x <= 3), `ack frames sent per node for one claim: ${sent.join(', ')}`)
    assert.ok(sent.reduce((x, y) => x + y, 0) <= 2 * ids.length, `ack frames sent in all for one claim: ${sent.join(', ')}`)
  })
})
