import assert from 'node:assert/strict'
import { blockedReasons, type SchedStatus, type SchedTask } from '../../../crdt/rules/availability.js'
import { BlockingIndex, type BlockInfo, type BlockNode } from '../../../crdt/rules/blocking.js'
import { ChainIndex } from '../../../crdt/rules/chains.js'
import { checkHistories, type Draws } from '../../helpers/property.js'

/**
 * The full build's batch passes (BlockingIndex.build, ChainIndex.build) give exactly what the
 * incremental apply() gives when fed every task, on random graphs with cycles, self-dependencies,
 * dependencies listed twice and dependencies on tasks that do not exist; and an index built in
 * batch keeps answering like the incremental one through later changes.
 */

const STATUSES: SchedStatus[] = ['pending', 'pending', 'pending', 'pending', 'claimed', 'in_progress', 'review', 'done', 'failed', 'cancelled', 'blocked']

function randomDeps (rng: Draws, pool: number): string[] {
  return Array.from({ length: rng.int(4) }, () => `t${rng.int(pool + 2)}`)
}

function randomGraph (rng: Draws, pool: number): Map<string, BlockNode> {
  const nodes = new Map<string, BlockNode>()
  // Ids in a random order: neither pass may lean on the order tasks are listed in.
  for (const i of rng.shuffle(Array.from({ length: pool }, (_, i) => i))) {
    if (rng.chance(0.85)) nodes.set(`t${i}`, { status: rng.pick(STATUSES), dependsOn: randomDeps(rng, pool) })
  }
  return nodes
}

function infos (index: BlockingIndex, ids: Iterable<string>): Array<[string, BlockInfo | undefined]> {
  return [...ids].sort().map(id => [id, index.get(id)])
}

function reference (nodes: ReadonlyMap<string, BlockNode>): Map<string, string> {
  const list: SchedTask[] = [...nodes].map(([id, n], order) => ({ id, status: n.status, dependsOn: n.dependsOn, priority: 0, order, role: null }))
  return blockedReasons(list)
}

function weightsOf (rng: Draws, nodes: ReadonlyMap<string, BlockNode>): Map<string, number> {
  const w = new Map<string, number>()
  for (const [id, n] of nodes) if (n.status !== 'cancelled') w.set(id, rng.pick([0, 0.1, 0.2, 1, 2.5, 8, 16.3]))
  return w
}

describe('projection full build: batch passes equal the incremental ones fed every task', () => {
  it('blocking: build() equals apply() of every node (distances, root causes, reasons), also after later changes', function () {
    this.timeout(60_000)
    checkHistories(200, (rng) => {
      const pool = 3 + rng.int(60)
      const nodes = randomGraph(rng, pool)
      const batch = new BlockingIndex()
      batch.build(new Map(nodes))
      const incremental = new BlockingIndex()
      incremental.apply(nodes)
      const ids = new Set([...nodes.keys(), ...Array.from({ length: pool + 2 }, (_, i) => `t${i}`)])
      assert.deepEqual(infos(batch, ids), infos(incremental, ids), 'after the build')
      const reasons = new Map([...infos(batch, ids)].filter(([, b]) => b !== undefined).map(([id, b]) => [id, (b as BlockInfo).reason]))
      assert.deepEqual(reasons, new Map([...reference(nodes)].sort((a, b) => a[0] < b[0] ? -1 : 1)), 'against blockedReasons')
      for (let step = 0; step < 10; step++) {
        const changes = new Map<string, BlockNode | undefined>()
        for (let k = 0; k < 1 + rng.int(3); k++) changes.set(`t${rng.int(pool + 2)}`, rng.chance(0.85) ? { status: rng.pick(STATUSES), dependsOn: randomDeps(rng, pool) } : undefined)
        assert.deepEqual(batch.apply(changes), incremental.apply(changes), `changed ids at step ${step}`)
        assert.deepEqual(infos(batch, ids), infos(incremental, ids), `after step ${step}`)
      }
    })
  })

  it('chains: build() equals apply() of every weight, cycles and what leads into them included, also after later changes', function () {
    this.timeout(60_000)
    checkHistories(200, (rng) => {
      const pool = 3 + rng.int(60)
      const nodes = randomGraph(rng, pool)
      const weights = weightsOf(rng, nodes)
      const graphA = new BlockingIndex()
      graphA.build(new Map(nodes))
      const batch = new ChainIndex(graphA)
      batch.build(new Map(weights))
      const graphB = new BlockingIndex()
      graphB.apply(nodes)
      const incremental = new ChainIndex(graphB)
      incremental.apply(weights, nodes.keys())
      const sorted = (c: ChainIndex): Array<[string, number]> => [...c.scores].sort((a, b) => a[0] < b[0] ? -1 : 1)
      assert.deepEqual(sorted(batch), sorted(incremental), 'after the build')
      for (let step = 0; step < 10; step++) {
        const id = `t${rng.int(pool + 2)}`
        const old = graphA.node(id)
        const next: BlockNode | undefined = rng.chance(0.85) ? { status: rng.pick(STATUSES), dependsOn: randomDeps(rng, pool) } : undefined
        const change = new Map([[id, next]])
        graphA.apply(change)
        graphB.apply(change)
        const w = new Map([[id, next === undefined || next.status === 'cancelled' ? undefined : rng.pick([0, 1, 3.3])]])
        const stale = [id, ...(old?.dependsOn ?? [])]
        assert.deepEqual(batch.apply(w, stale), incremental.apply(w, stale), `changed ids at step ${step}`)
        assert.deepEqual(sorted(batch), sorted(incremental), `after step ${step}`)
      }
    })
  })
})
