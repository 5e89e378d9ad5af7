import assert from 'node:assert/strict'
import { blockedReasons, type SchedStatus, type SchedTask } from '../../../crdt/rules/availability.js'
import { BlockingIndex, type BlockNode } from '../../../crdt/rules/blocking.js'
import { checkHistories, type Draws } from '../../helpers/property.js'

const STATUSES: SchedStatus[] = ['pending', 'pending', 'pending', 'pending', 'claimed', 'in_progress', 'review', 'done', 'failed', 'cancelled', 'blocked']

function randomDeps (rng: Draws, pool: number): string[] {
  const n = rng.int(4)
  // Some dependencies name tasks that do not exist (yet): they block until the task appears.
  return Array.from({ length: n }, () => `t${rng.int(pool + 2)}`)
}

/** Everything blockedReasons says, as the index says it. */
function indexReasons (index: BlockingIndex, tasks: ReadonlyMap<string, BlockNode>): Map<string, string> {
  const out = new Map<string, string>()
  for (const id of tasks.keys()) {
    const info = index.get(id)
    if (info !== undefined) out.set(id, info.reason)
  }
  return out
}

function reference (tasks: ReadonlyMap<string, BlockNode>): Map<string, string> {
  const list: SchedTask[] = [...tasks].map(([id, n], order) => ({ id, status: n.status, dependsOn: n.dependsOn, priority: 0, order, role: null }))
  return blockedReasons(list)
}

describe('rules/blocking: incremental blocking equals blockedReasons over the whole list', () => {
  it('after every random change (statuses, dependencies incl. cycles and missing ones, adds, removals)', function () {
    this.timeout(60_000)
    checkHistories(150, (rng) => {
      const pool = 5 + rng.int(40)
      const tasks = new Map<string, BlockNode>()
      const index = new BlockingIndex()
      // Ids sort as in plan order (t0, t1, ...) only by accident: order in the reference is insertion order.
      const initial = new Map<string, BlockNode>()
      for (let i = 0; i < pool; i++) if (rng.chance(0.8)) initial.set(`t${i}`, { status: rng.pick(STATUSES), dependsOn: randomDeps(rng, pool) })
      for (const [id, n] of initial) tasks.set(id, n)
      index.apply(initial)
      assert.deepEqual(indexReasons(index, tasks), reference(tasks), 'after the first build')
      for (let step = 0; step < 60; step++) {
        const changes = new Map<string, BlockNode | undefined>()
        const n = 1 + (rng.chance(0.2) ? rng.int(6) : 0)
        for (let k = 0; k < n; k++) {
          const id = `t${rng.int(pool + 2)}`
          const had = tasks.get(id)
          const x = rng.float()
          let next: BlockNode | undefined
          if (had === undefined) next = x < 0.8 ? { status: rng.pick(STATUSES), dependsOn: randomDeps(rng, pool) } : undefined
          else if (x < 0.6) next = { status: rng.pick(STATUSES), dependsOn: had.dependsOn }
          else if (x < 0.9) next = { status: had.status, dependsOn: randomDeps(rng, pool) }
          else next = undefined
          changes.set(id, next)
          // A re-added task goes to the end of plan order, as in the reference list.
          tasks.delete(id)
          if (next !== undefined) tasks.set(id, next)
        }
        const before = indexReasons(index, tasks)
        const changed = index.apply(changes)
        const want = reference(tasks)
        assert.deepEqual(indexReasons(index, tasks), want, `step ${step}: ${JSON.stringify([...changes])}`)
        // Every task whose reason changed is reported (the projection re-shows only those; a
        // report of a task whose distance moved but whose wording did not is harmless).
        for (const id of tasks.keys()) {
          if (changes.has(id) || before.get(id) === want.get(id)) continue
          assert.ok(changed.has(id), `step ${step}: ${id} changed but was not reported`)
        }
      }
    })
  })

  it('a claim of an unblocked task in a 10,000-task chain touches a handful of tasks, not the chain', () => {
    const index = new BlockingIndex()
    const all = new Map<string, BlockNode>()
    for (let i = 0; i < 10_000; i++) all.set(`t${i}`, { status: 'pending', dependsOn: i === 0 ? [] : [`t${i - 1}`] })
    index.apply(all)
    index.apply(new Map([['t0', { status: 'claimed', dependsOn: [] }]]))
    assert.ok(index.lastWork < 10, `work ${index.lastWork}`)
    // A failure does block the whole chain: that work is the chain, and it is needed.
    const changed = index.apply(new Map([['t0', { status: 'failed', dependsOn: [] }]]))
    assert.equal(changed.size, 9_999)
    assert.equal(index.get('t9999')?.reason, 'dependency t9998 is blocked (t0 failed)')
  })
})
