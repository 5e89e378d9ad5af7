import assert from 'node:assert/strict'
import { availableTasks, blockedReasons, type SchedStatus, type SchedTask } from '../../../plan/index.js'

let nextOrder = 0
function task (id: string, status: SchedStatus, dependsOn: string[] = [], extra: Partial<SchedTask> = {}): SchedTask {
  return { id, status, dependsOn, priority: 0, order: nextOrder++, role: null, ...extra }
}
const ids = (tasks: SchedTask[]): string[] => tasks.map((t) => t.id)

describe('plan/availability', () => {
  beforeEach(() => { nextOrder = 0 })

  describe('a diamond A -> (B, C) -> D', () => {
    it('offers only the root at first', () => {
      const tasks = [task('A', 'pending'), task('B', 'pending', ['A']), task('C', 'pending', ['A']), task('D', 'pending', ['B', 'C'])]
      assert.deepEqual(ids(availableTasks(tasks)), ['A'])
    })

    it('offers both branches once the root is done, and the join only when both are', () => {
      assert.deepEqual(ids(availableTasks([task('A', 'done'), task('B', 'pending', ['A']), task('C', 'pending', ['A']), task('D', 'pending', ['B', 'C'])])), ['B', 'C'])
      assert.deepEqual(ids(availableTasks([task('A', 'done'), task('B', 'done', ['A']), task('C', 'review', ['A']), task('D', 'pending', ['B', 'C'])])), [])
      assert.deepEqual(ids(availableTasks([task('A', 'done'), task('B', 'done', ['A']), task('C', 'done', ['A']), task('D', 'pending', ['B', 'C'])])), ['D'])
    })
  })

  it('never offers a task that is not pending', () => {
    const statuses: SchedStatus[] = ['claimed', 'in_progress', 'review', 'done', 'failed', 'cancelled', 'blocked']
    assert.deepEqual(availableTasks(statuses.map((s, i) => task(`T${i}`, s))), [])
  })

  it('blocks dependents of a failed task transitively, naming the root cause', () => {
    const tasks = [
      task('T1.1', 'done'),
      task('T1.2', 'failed', ['T1.1']),
      task('T1.3', 'pending', ['T1.2']),
      task('T1.4', 'pending', ['T1.3']),
      task('T1.5', 'pending', ['T1.1'])
    ]
    assert.deepEqual([...blockedReasons(tasks)], [
      ['T1.3', 'dependency T1.2 failed'],
      ['T1.4', 'dependency T1.3 is blocked (T1.2 failed)']
    ])
    assert.deepEqual(ids(availableTasks(tasks)), ['T1.5'])
  })

  it('blocks on a cancelled or missing dependency, and through a blocked-status task', () => {
    const reasons = blockedReasons([
      task('T1.1', 'cancelled'),
      task('T1.2', 'pending', ['T1.1']),
      task('T1.3', 'pending', ['T1.2']),
      task('T2.1', 'pending', ['T9']),
      task('T3.1', 'blocked'),
      task('T3.2', 'pending', ['T3.1'])
    ])
    assert.equal(reasons.get('T1.2'), 'dependency T1.1 cancelled')
    assert.equal(reasons.get('T1.3'), 'dependency T1.2 is blocked (T1.1 cancelled)')
    assert.equal(reasons.get('T2.1'), 'dependency T9 does not exist')
    assert.equal(reasons.get('T3.2'), 'dependency T3.1 is blocked')
    assert.equal(reasons.has('T3.1'), false)
  })

  it('does not depend on the order tasks are listed in', () => {
    const tasks = [
      task('A', 'failed'), task('B', 'cancelled'),
      task('C', 'pending', ['A']), task('D', 'pending', ['B']),
      task('E', 'pending', ['D', 'C'])
    ]
    const forward = blockedReasons(tasks)
    const backward = blockedReasons([...tasks].reverse())
    assert.deepEqual(new Map([...backward].sort()), new Map([...forward].sort()))
    assert.equal(forward.get('E'), 'dependency D is blocked (B cancelled)')
  })

  it('stays finite on a dependency cycle (nothing in it is offered)', () => {
    const tasks = [task('A', 'pending', ['B']), task('B', 'pending', ['A']), task('C', 'pending')]
    assert.deepEqual(ids(availableTasks(tasks)), ['C'])
    assert.equal(blockedReasons(tasks).size, 0)
  })

  it('blocks a cycle that hangs off a failed task, explaining each member without going round', () => {
    const reasons = blockedReasons([
      task('F', 'failed'),
      task('A', 'pending', ['B']),
      task('B', 'pending', ['A', 'C']),
      task('C', 'pending', ['F'])
    ])
    assert.equal(reasons.get('C'), 'dependency F failed')
    assert.equal(reasons.get('B'), 'dependency C is blocked (F failed)')
    assert.equal(reasons.get('A'), 'dependency B is blocked (F failed)')
  })

  it('orders by priority (higher first), then plan order, then id', () => {
    const tasks = [
      task('low', 'pending', [], { priority: -1, order: 0 }),
      task('b', 'pending', [], { order: 5 }),
      task('a', 'pending', [], { order: 5 }),
      task('first', 'pending', [], { order: 1 }),
      task('urgent', 'pending', [], { priority: 3, order: 9 })
    ]
    assert.deepEqual(ids(availableTasks(tasks)), ['urgent', 'first', 'a', 'b', 'low'])
  })

  it('filters by role, offering role-less tasks to everyone', () => {
    const tasks = [
      task('be', 'pending', [], { role: 'backend' }),
      task('fe', 'pending', [], { role: 'frontend' }),
      task('any', 'pending', [], { role: null })
    ]
    assert.deepEqual(ids(availableTasks(tasks, { role: 'backend' })), ['be', 'any'])
    assert.deepEqual(ids(availableTasks(tasks, { role: 'routes' })), ['any'])
    assert.deepEqual(ids(availableTasks(tasks)), ['be', 'fe', 'any'])
  })

  it('returns the caller\'s own objects', () => {
    const rich = [{ ...task('A', 'pending'), title: 'keep me' }]
    assert.equal(availableTasks(rich)[0]?.title, 'keep me')
  })
})
