import assert from 'node:assert/strict'
import { parsePlan, planEpicOps, planImportOps, type ExistingEpic, type ExistingTask, type ImportOp, type Plan } from '../../../plan/index.js'
import { SMALL_PLAN, SMALL_MARKDOWN } from './fixtures.js'

/** The document's view of a plan just imported: every task pending, plan-sourced, never started. */
function imported (plan: Plan): ExistingTask[] {
  return plan.tasks.map((t, order) => ({ ...t, order, status: 'pending', started: false, source: 'plan' }))
}

function importedEpics (plan: Plan): ExistingEpic[] {
  return plan.epics.map((e, order) => ({ ...e, order }))
}

function edited (edit: (p: Plan) => void): Plan {
  const p = structuredClone(SMALL_PLAN)
  edit(p)
  return p
}

function withTask (existing: ExistingTask[], id: string, patch: Partial<ExistingTask>): ExistingTask[] {
  return existing.map((t) => t.id === id ? { ...t, ...patch } : t)
}

function opId (o: ImportOp): string {
  return o.op === 'add' ? o.task.id : o.id
}

describe('plan/revision', () => {
  it('re-importing the same plan yields no operations', () => {
    assert.deepEqual(planImportOps(imported(SMALL_PLAN), SMALL_PLAN), [])
    assert.deepEqual(planEpicOps(importedEpics(SMALL_PLAN), SMALL_PLAN), [])
    // Also when read again from another format, and when work is under way.
    const busy = withTask(withTask(imported(SMALL_PLAN), 'T1.1', { status: 'done', started: true }), 'T1.2', { status: 'in_progress', started: true })
    assert.deepEqual(planImportOps(busy, parsePlan(SMALL_MARKDOWN)), [])
  })

  it('imports a fresh plan as adds in plan order', () => {
    const ops = planImportOps([], SMALL_PLAN)
    assert.deepEqual(ops.map((o) => o.op === 'add' ? [o.task.id, o.task.order] : o.op), [['T1.1', 0], ['T1.2', 1], ['T2.1', 2], ['T2.2', 3]])
    const first = ops[0]
    assert.ok(first?.op === 'add')
    assert.deepEqual(first.task, { ...SMALL_PLAN.tasks[0], order: 0 })
    assert.deepEqual(planEpicOps([], SMALL_PLAN), [
      { op: 'add', epic: { id: 'E1', title: 'Backend', role: 'backend', order: 0 } },
      { op: 'add', epic: { id: 'E2', title: 'Frontend', role: null, order: 1 } }
    ])
  })

  it('updates only the changed fields of a pending, unstarted task', () => {
    const plan = edited((p) => {
      p.tasks[1]!.estimatedHours = 12
      p.tasks[1]!.dependsOn = []
    })
    assert.deepEqual(planImportOps(imported(SMALL_PLAN), plan), [
      { op: 'update', id: 'T1.2', fields: { estimatedHours: 12, dependsOn: [] } }
    ])
  })

  it('updates the order when tasks move', () => {
    const plan = edited((p) => { p.tasks.reverse() })
    const ops = planImportOps(imported(SMALL_PLAN), plan)
    assert.deepEqual(ops, [
      { op: 'update', id: 'T2.2', fields: { order: 0 } },
      { op: 'update', id: 'T2.1', fields: { order: 1 } },
      { op: 'update', id: 'T1.2', fields: { order: 2 } },
      { op: 'update', id: 'T1.1', fields: { order: 3 } }
    ])
  })

  it('cancels a pending task the plan dropped', () => {
    const plan = edited((p) => { p.tasks.splice(3, 1) })
    assert.deepEqual(planImportOps(imported(SMALL_PLAN), plan), [{ op: 'cancel', id: 'T2.2' }])
  })

  it('adds a new task', () => {
    const plan = edited((p) => {
      p.tasks.push({ id: 'T2.3', epic: 'E2', title: 'New', description: '', estimatedHours: 3, role: null, dependsOn: ['T2.2'], priority: 0, acceptance: null })
    })
    assert.deepEqual(planImportOps(imported(SMALL_PLAN), plan), [{ op: 'add', task: { ...plan.tasks[4]!, order: 4 } }])
  })

  it('never touches a started task: changes and removal become skips with a reason', () => {
    // Pending again (a lease expired) but started once: its plan fields are frozen too.
    const existing = withTask(withTask(imported(SMALL_PLAN), 'T1.2', { started: true }), 'T2.2', { status: 'in_progress', started: true })
    const plan = edited((p) => {
      p.tasks[1]!.title = 'Renamed'
      p.tasks.splice(3, 1)
    })
    const ops = planImportOps(existing, plan)
    assert.deepEqual(ops.map((o) => [o.op, opId(o)]), [['skip', 'T1.2'], ['skip', 'T2.2']])
    assert.ok(ops.every((o) => o.op !== 'update' && o.op !== 'cancel'))
    assert.match(ops[0]?.op === 'skip' ? ops[0].reason : '', /T1.2 has already been started; plan changes not applied \(changed: title\)/)
    assert.match(ops[1]?.op === 'skip' ? ops[1].reason : '', /T2.2 is no longer in the plan but is already in_progress/)
  })

  it('still edits a task blocked by a failed dependency (editing the plan is the fix)', () => {
    const existing = withTask(withTask(imported(SMALL_PLAN), 'T1.1', { status: 'failed', started: true }), 'T1.2', { status: 'blocked' })
    const plan = edited((p) => { p.tasks[1]!.dependsOn = [] })
    assert.deepEqual(planImportOps(existing, plan), [{ op: 'update', id: 'T1.2', fields: { dependsOn: [] } }])
  })

  it('never touches finished tasks', () => {
    const existing = withTask(withTask(imported(SMALL_PLAN), 'T1.1', { status: 'done', started: true }), 'T2.2', { status: 'failed', started: true })
    const plan = edited((p) => {
      p.tasks[0]!.estimatedHours = 1
      p.tasks.splice(3, 1)
    })
    const ops = planImportOps(existing, plan)
    assert.deepEqual(ops.map((o) => [o.op, opId(o)]), [['skip', 'T1.1'], ['skip', 'T2.2']])
  })

  it('leaves tasks created through the API alone', () => {
    const handmade: ExistingTask = { ...imported(SMALL_PLAN)[0]!, id: 'H1', source: 'api', order: 99 }
    assert.deepEqual(planImportOps([...imported(SMALL_PLAN), handmade], SMALL_PLAN), [])
    // Same id as a plan task, different content: reported, not overwritten.
    const clash = withTask(imported(SMALL_PLAN), 'T2.2', { source: 'api', title: 'Mine' })
    const ops = planImportOps(clash, SMALL_PLAN)
    assert.equal(ops.length, 1)
    assert.equal(ops[0]?.op, 'skip')
  })

  it('does not cancel twice, and reports a cancelled task the plan lists again', () => {
    const existing = withTask(imported(SMALL_PLAN), 'T2.2', { status: 'cancelled' })
    const without = edited((p) => { p.tasks.splice(3, 1) })
    assert.deepEqual(planImportOps(existing, without), [])
    const ops = planImportOps(existing, SMALL_PLAN)
    assert.deepEqual(ops.map((o) => [o.op, opId(o)]), [['skip', 'T2.2']])
  })

  it('updates a changed epic', () => {
    const plan = edited((p) => { p.epics[1]!.role = 'frontend' })
    assert.deepEqual(planEpicOps(importedEpics(SMALL_PLAN), plan), [{ op: 'update', id: 'E2', fields: { role: 'frontend' } }])
  })
})
