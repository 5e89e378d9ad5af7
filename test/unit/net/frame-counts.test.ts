import assert from 'node:assert/strict'
import * as A from '@automerge/automerge'
import { DocStore } from '../../../crdt/doc-store.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { silentLogger } from '../../../node/logger.js'
import { FleetMetrics } from '../../../node/metrics/fleet-metrics.js'
import { MemoryHub } from '../../../node/net/memory-network.js'
import { FrameCounts, newReplicationStats } from '../../../node/net/replication-stats.js'
import { Replicator } from '../../../node/net/replicator.js'
import { waitFor } from '../../../scripts/lib/wait.js'

/** fleet_net_frames_total: every protocol frame a node sends or receives, by protocol and kind. */
describe('protocol frame counts', function () {
  this.timeout(30_000)

  it('counts SWIM frames apart from the sync frames they share a stream with', () => {
    const f = new FrameCounts()
    f.addSync('out', { type: 'swim', frame: { t: 'ping', seq: 1, heads: [] } })
    f.addSync('out', { type: 'swim', frame: { t: 'ping', seq: 2, heads: [] } })
    f.addSync('in', { type: 'swim', frame: { t: 'ack', seq: 1 } })
    f.addSync('in', { type: 'heads', heads: [] })
    f.addSync('out', { type: 'reset' })
    f.add('in', 'gossip', 'announce')
    assert.equal(f.total('out', 'swim', 'ping'), 2)
    assert.equal(f.total('in', 'swim'), 1)
    assert.equal(f.total('in', 'sync', 'heads'), 1)
    assert.equal(f.total('in'), 3, 'all protocols, one direction')
    assert.equal(f.total('out'), 3)
    assert.deepEqual(f.entries().map(e => `${e.direction} ${e.protocol} ${e.kind} ${e.count}`).sort(),
      ['in gossip announce 1', 'in swim ack 1', 'in sync heads 1', 'out swim ping 2', 'out sync reset 1'])
  })

  it('exports them as fleet_net_frames_total{direction,protocol,kind}', async () => {
    const stats = newReplicationStats()
    stats.frames.add('in', 'swim', 'ping', 7)
    stats.frames.add('out', 'gossip', 'changes')
    const metrics = new FleetMetrics({ processMetrics: false, sources: { replication: () => stats } })
    const text = await metrics.text()
    assert.match(text, /^fleet_net_frames_total\{direction="in",protocol="swim",kind="ping"\} 7$/m)
    assert.match(text, /^fleet_net_frames_total\{direction="out",protocol="gossip",kind="changes"\} 1$/m)
    stats.frames.add('in', 'swim', 'ping')
    assert.match(await metrics.text(), /^fleet_net_frames_total\{direction="in",protocol="swim",kind="ping"\} 8$/m, 'a scrape reads the current count')
  })

  it('two replicators count each other\'s probes, acks, member lists and gossip as they pass', async () => {
    const hub = new MemoryHub({ latencyMs: 1 })
    const nodes: Array<{ replicator: Replicator, store: DocStore }> = []
    try {
      for (const id of ['a', 'b']) {
        const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
        const replicator = new Replicator({ network: hub.endpoint(id), store, logger: silentLogger(), livenessMs: 2000 })
        await replicator.start()
        nodes.push({ replicator, store })
      }
      const a = nodes[0]!
      const b = nodes[1]!
      hub.connect('a', 'b')
      // Push-pull on connect, then probes every round (liveness / 5 = 400 ms over one neighbour).
      await waitFor(() => a.replicator.stats.frames.total('out', 'swim', 'ping') >= 1 && b.replicator.stats.frames.total('in', 'swim', 'ping') >= 1 &&
        a.replicator.stats.frames.total('in', 'swim', 'ack') >= 1, 'a to probe b and hear its ack')
      assert.ok(b.replicator.stats.frames.total('in', 'swim', 'members') >= 1, 'member lists swapped on connect')
      await a.store.change((d) => { d.plan.title = new A.ImmutableString('counted') }, 'counted')
      await waitFor(() => b.replicator.stats.frames.total('in', 'gossip', 'changes') >= 1, 'b to receive a\'s change as a gossip frame')
      assert.ok(a.replicator.stats.frames.total('out', 'gossip', 'changes') >= 1)
      // Nothing on a direct stream is lost in this network: b received at most what a sent, kind by kind.
      for (const e of b.replicator.stats.frames.entries().filter(x => x.direction === 'in' && x.protocol !== 'gossip')) {
        assert.ok(e.count <= a.replicator.stats.frames.total('out', e.protocol, e.kind), `b's ${e.protocol} ${e.kind} frames came from a`)
      }
    } finally {
      for (const n of nodes) {
        await n.replicator.stop()
        await n.store.close()
      }
    }
  })
})
