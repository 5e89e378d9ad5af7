import assert from 'node:assert/strict'
import { detectionBoundMs, swimTimingFor } from '../../../crdt/rules/swim.js'
import { MemoryHub } from '../../../node/net/memory-network.js'
import { mulberry32 } from '../../../plan/prng.js'
import { linkGroups, receivedBy } from '../../../scripts/lib/sim.js'
import { startSimNodes, stopSimNodes, type SimNode } from '../../../scripts/lib/sim-node.js'
import { waitFor } from '../../../scripts/lib/wait.js'

const ids = (n: number, prefix = 'n'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`)
const liveSet = (n: SimNode): string => n.replicator.peers.live().map(p => p.nodeId).sort().join()

/** SWIM membership (node/net/membership.ts, crdt/rules/swim.ts) over the in-memory network, with the simulator's nodes. */
describe('membership (SWIM) in the simulator', function () {
  this.timeout(180_000)
  const running: SimNode[] = []
  afterEach(async () => { await stopSimNodes(running.splice(0)) })

  async function cluster (n: number, livenessMs: number, degree: number, seed: number, prefix = 'n'): Promise<{ hub: MemoryHub, nodes: SimNode[] }> {
    const hub = new MemoryHub({ latencyMs: 2, loss: 0.01, random: mulberry32(seed) })
    const nodes = await startSimNodes(hub, ids(n, prefix), livenessMs)
    running.push(...nodes)
    linkGroups(hub, [nodes.map(x => x.id)], degree, mulberry32(seed + 1))
    await waitFor(() => nodes.every(x => x.replicator.peers.live().length === n - 1), `all ${n} nodes to hold each other live`, 60_000, 50)
    return { hub, nodes }
  }

  it('after crashes, every survivor holds the same live set (the survivors) within the documented bound, and never drops a live one', async () => {
    const livenessMs = 2000
    const { hub, nodes } = await cluster(20, livenessMs, 4, 5)
    const killed = nodes.slice(0, 3)
    const survivors = nodes.slice(3)
    const expected = (self: SimNode): string => survivors.filter(s => s !== self).map(s => s.id).sort().join()
    const t0 = Date.now()
    for (const k of killed) hub.crash(k.id)
    let falseDead: string | null = null
    await waitFor(() => {
      for (const s of survivors) {
        const live = new Set(s.replicator.peers.live().map(p => p.nodeId))
        const missing = survivors.find(o => o !== s && !live.has(o.id))
        if (missing !== undefined) falseDead = `${s.id} dropped live ${missing.id}`
      }
      return survivors.every(s => liveSet(s) === expected(s))
    }, 'every survivor to hold exactly the survivors live', 30_000, 20)
    const took = Date.now() - t0
    assert.equal(falseDead, null, 'no survivor ever left a live survivor out')
    // The bound README documents: detectionBoundMs with a generous gossip crossing on this loaded machine.
    const bound = detectionBoundMs(swimTimingFor(livenessMs), 500)
    assert.ok(took <= bound, `agreed after ${took} ms, bound ${bound} ms`)
  })

  it('a node that was cut off and declared dead rejoins by refuting, and everyone holds it live again', async () => {
    const livenessMs = 2000
    const { hub, nodes } = await cluster(8, livenessMs, 3, 9, 'r')
    const [cut, ...rest] = nodes as [SimNode, ...SimNode[]]
    const links = [...(hub.endpoints.get(cut.id)?.links ?? [])]
    for (const l of links) hub.disconnect(cut.id, l)
    await waitFor(() => rest.every(r => r.replicator.peers.find(cut.id)?.status === 'dead'), 'the others to hold the cut node dead', 20_000, 20)
    const before = cut.replicator.members.incarnation
    hub.connect(cut.id, (rest[0] as SimNode).id)
    await waitFor(() => rest.every(r => r.replicator.peers.live().some(p => p.nodeId === cut.id)), 'everyone to hold it live again', 20_000, 20)
    assert.ok(cut.replicator.members.incarnation > before, 'it refuted with a higher incarnation')
  })

  it('idle messages per node do not grow with the cluster: 10 vs 50 nodes, same degree', async () => {
    const livenessMs = 2000
    const rate = async (n: number, seed: number, prefix: string): Promise<number> => {
      const { hub, nodes } = await cluster(n, livenessMs, 4, seed, prefix)
      // Joining news (push-pull, first announcements, first sync rounds) is over once no gossip
      // has arrived anywhere for a second: idle, only probes travel.
      const gossipIn = (): number => [...hub.endpoints.values()].reduce((sum, e) => sum + e.stats.gossipIn, 0)
      let last = { count: -1, since: Date.now() }
      await waitFor(() => {
        const c = gossipIn()
        if (c !== last.count) last = { count: c, since: Date.now() }
        return Date.now() - last.since >= 1000
      }, 'a second without gossip (the join is over)', 30_000, 50)
      const r0 = receivedBy(hub, nodes)
      const t0 = Date.now()
      await waitFor(() => Date.now() - t0 >= 3000, 'three seconds of idling', 10_000, 50)
      const perNode = (receivedBy(hub, nodes) - r0) / n / ((Date.now() - t0) / 1000)
      await stopSimNodes(running.splice(0))
      return perNode
    }
    const small = await rate(10, 21, 'a')
    const large = await rate(50, 22, 'b')
    assert.ok(small > 0, 'idle nodes still probe')
    assert.ok(large <= small * 1.5, `idle msgs/node/s ${small.toFixed(1)} at 10 nodes, ${large.toFixed(1)} at 50`)
  })
})
