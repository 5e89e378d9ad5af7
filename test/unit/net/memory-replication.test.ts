import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { silentLogger } from '../../../node/logger.js'
import { MemoryHub } from '../../../node/net/memory-network.js'
import { Replicator, topicsFor } from '../../../node/net/replicator.js'
import { waitFor } from '../../../scripts/lib/wait.js'

/** The replication protocols (gossip, presence, sync sessions) over the in-memory network. */
describe('replication over the in-memory network', function () {
  this.timeout(30_000)
  const running: Array<{ replicator: Replicator, store: DocStore }> = []

  afterEach(async () => {
    for (const r of running.splice(0)) {
      await r.replicator.stop()
      await r.store.close()
    }
  })

  async function node (hub: MemoryHub, id: string): Promise<{ replicator: Replicator, store: DocStore }> {
    const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    const replicator = new Replicator({ network: hub.endpoint(id), store, logger: silentLogger(), announceIntervalMs: 100, resyncAfterMs: 300 })
    await replicator.start()
    const n = { replicator, store }
    running.push(n)
    return n
  }

  async function write (store: DocStore, title: string): Promise<void> {
    await store.change((d) => { d.plan.title = new A.ImmutableString(title) }, title)
  }

  const sameHeads = (...stores: DocStore[]): boolean => stores.every(s => s.heads().join() === stores[0]?.heads().join())

  it('relays a write along a line of links (a-b-c) and every node learns every other from presence', async () => {
    const hub = new MemoryHub({ latencyMs: 2 })
    const [a, b, c] = [await node(hub, 'a'), await node(hub, 'b'), await node(hub, 'c')]
    hub.connect('a', 'b')
    hub.connect('b', 'c')
    await write(a.store, 'from a')
    await waitFor(() => sameHeads(a.store, b.store, c.store) && c.store.doc.plan.title?.toString() === 'from a', 'c to hold the write made on a, relayed by b')
    await waitFor(() => c.replicator.peers.find('a')?.heads.join() === a.store.heads().join(), 'c to know a\'s heads from a\'s announcements')
    assert.deepEqual(c.replicator.connectedPeers(), ['b'], 'c holds a sync session with its link only')
  })

  it('a node that was not connected during a write catches up on connect, with no new write', async () => {
    const hub = new MemoryHub()
    const [a, b] = [await node(hub, 'a'), await node(hub, 'b')]
    await write(a.store, 'written alone')
    assert.ok(!sameHeads(a.store, b.store))
    hub.connect('a', 'b')
    await waitFor(() => sameHeads(a.store, b.store), 'the sync session to bring b up to date')
  })

  it('repairs by sync what lossy gossip dropped, and converges after a partition heals', async () => {
    let seed = 7
    const random = (): number => { seed = (seed * 48271) % 2147483647; return seed / 2147483647 }
    const hub = new MemoryHub({ loss: 0.5, random, latencyMs: () => 1 + Math.floor(random() * 5) })
    const nodes = [await node(hub, 'a'), await node(hub, 'b'), await node(hub, 'c'), await node(hub, 'd')]
    for (const [x, y] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'a']] as const) hub.connect(x, y)
    hub.partition([['a', 'b'], ['c', 'd']])
    await write(nodes[0]!.store, 'left side')
    await write(nodes[2]!.store, 'right side')
    await waitFor(() => sameHeads(nodes[0]!.store, nodes[1]!.store) && sameHeads(nodes[2]!.store, nodes[3]!.store), 'each side to converge on its own')
    assert.ok(!sameHeads(nodes[0]!.store, nodes[2]!.store), 'the partition kept the sides apart')
    hub.heal()
    hub.connect('b', 'c')
    hub.connect('d', 'a')
    await waitFor(() => sameHeads(...nodes.map(n => n.store)), 'all four replicas to converge after the heal')
  })

  it('a neighbour that stops answering (a hung process) is declared dead and hung up on, freeing its slot', async () => {
    const hub = new MemoryHub({ latencyMs: 1 })
    const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    // The in-memory network leaves links to the test (the simulator has no dialer to replace them): this one hangs up as libp2p does.
    const network = Object.assign(hub.endpoint('a'), { hangUp: async (peer: string) => { hub.disconnect('a', peer) } })
    const a = new Replicator({ network, store, logger: silentLogger(), livenessMs: 1000, announceIntervalMs: 100 })
    await a.start()
    running.push({ replicator: a, store })
    // 'h' accepts the sync stream and never says anything on it: its connection stays open.
    const h = hub.endpoint('h')
    await h.handle(topicsFor('default').sync, () => {}, { maxFrameBytes: 1 << 20 })
    hub.connect('a', 'h')
    await waitFor(() => a.connectedPeers().includes('h'), 'a sync session with the silent node')
    await waitFor(() => a.peers.find('h')?.status === 'dead', 'a to declare the silent node dead', 10_000)
    await waitFor(() => !a.network.connections().includes('h'), 'a to hang up on it', 5_000)
    assert.ok(!a.connectedPeers().includes('h'), 'no session with a dead member')
  })

  it('a crashed node stops counting as connected on the far side', async () => {
    const hub = new MemoryHub()
    const [a] = [await node(hub, 'a'), await node(hub, 'b')]
    hub.connect('a', 'b')
    await waitFor(() => a.replicator.connectedPeers().includes('b'), 'a sync session between a and b')
    hub.crash('b')
    await waitFor(() => !a.replicator.connectedPeers().includes('b'), 'a to drop b')
  })
})
