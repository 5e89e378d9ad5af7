import assert from 'node:assert/strict'
import { criticalPath, downstreamHours, lowerBoundHours, remainingOf, type SimTask } from '../../../plan/index.js'

let order = 0
function t (id: string, hours: number, dependsOn: string[] = [], extra: Partial<SimTask> = {}): SimTask {
  return { id, estimatedHours: hours, dependsOn, order: order++, status: 'pending', priority: 0, role: null, ...extra }
}

describe('plan/critical-path', () => {
  beforeEach(() => { order = 0 })

  it('a chain: each task\'s downstream is the hours from it to the end, and the path is the chain', () => {
    const tasks = [t('A', 2), t('B', 3, ['A']), t('C', 5, ['B'])]
    assert.deepEqual([...downstreamHours(tasks)], [['A', 10], ['B', 8], ['C', 5]])
    assert.deepEqual(criticalPath(tasks, remainingOf), { hours: 10, path: ['A', 'B', 'C'] })
  })

  it('a diamond A -> (B 4h, C 2h) -> D: the longer branch is on the path', () => {
    const tasks = [t('A', 1), t('B', 4, ['A']), t('C', 2, ['A']), t('D', 3, ['B', 'C'])]
    assert.deepEqual(Object.fromEntries(downstreamHours(tasks)), { A: 8, B: 7, C: 5, D: 3 })
    assert.deepEqual(criticalPath(tasks, remainingOf), { hours: 8, path: ['A', 'B', 'D'] })
  })

  it('equal branches: the earlier one in plan order is named, on every call', () => {
    const tasks = [t('A', 1), t('C', 2, ['A']), t('B', 2, ['A']), t('D', 1, ['B', 'C'])]
    assert.deepEqual(criticalPath(tasks, remainingOf).path, ['A', 'C', 'D'])
  })

  it('done, review and in-progress work: only what remains counts', () => {
    const tasks = [
      t('A', 10, [], { status: 'done' }),
      t('B', 4, ['A'], { status: 'in_progress', progress: 50 }),
      t('C', 6, ['B']),
      t('R', 30, ['A'], { status: 'review' }),
      t('X', 5, ['A'], { status: 'cancelled' })
    ]
    assert.deepEqual(criticalPath(tasks, remainingOf), { hours: 8, path: ['B', 'C'] })
    assert.deepEqual(criticalPath([t('Z', 3, [], { status: 'done' })], remainingOf), { hours: 0, path: [] })
  })

  it('ignores unknown dependencies and survives a cycle made by concurrent edits', () => {
    const scores = downstreamHours([t('A', 1, ['B', 'ghost']), t('B', 2, ['A'])])
    assert.equal(scores.size, 2)
    for (const v of scores.values()) assert.ok(Number.isFinite(v))
  })

  it('lower bound: the largest of the critical path, each role\'s hours over its agents, and all hours over all agents', () => {
    const agents = new Map([['backend', 2], ['frontend', 1]])
    // backend 30 h / 2 = 15; frontend 10 h / 1 = 10; all 46 h / 3 = 15.33; ops has no agent (a blocker, left out)
    const loads = [{ role: 'backend', hours: 30 }, { role: 'frontend', hours: 10 }, { role: null, hours: 6 }, { role: 'ops', hours: 100 }]
    assert.equal(lowerBoundHours(12, loads, agents), 46 / 3)
    assert.equal(lowerBoundHours(20, loads, agents), 20)
    assert.equal(lowerBoundHours(4, [{ role: 'backend', hours: 30 }], agents), 15)
  })
})
