import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { availableTasks, readPlanFile, validatePlan, type Plan } from '../../../plan/index.js'

// Tests run from dist/test/unit/plan; the example is source, not compiled output.
const EXAMPLE = fileURLToPath(new URL('../../../../plan/examples/remediation-plan.md', import.meta.url))
const ROLES = ['backend', 'frontend', 'schemas', 'facilities', 'incidents', 'remaining', 'routes']

describe('plan/examples/remediation-plan.md', () => {
  let plan: Plan
  before(async () => { plan = await readPlanFile(EXAMPLE) })

  it('has 5 epics, 28 tasks and 552 estimated hours', () => {
    assert.equal(plan.epics.length, 5)
    assert.equal(plan.tasks.length, 28)
    assert.equal(plan.tasks.reduce((sum, t) => sum + t.estimatedHours, 0), 552)
  })

  it('validates, with unique ids', () => {
    assert.deepEqual(validatePlan(plan), [])
    assert.equal(new Set(plan.tasks.map((t) => t.id)).size, 28)
  })

  it('uses exactly the seven agent roles, each with a fair share of the work', () => {
    const hours = new Map<string, number>()
    for (const t of plan.tasks) {
      assert.ok(t.role !== null, `${t.id} has no role`)
      hours.set(t.role, (hours.get(t.role) ?? 0) + t.estimatedHours)
    }
    assert.deepEqual([...hours.keys()].sort(), [...ROLES].sort())
    for (const [role, h] of hours) assert.ok(h >= 552 / 7 * 0.75 && h <= 552 / 7 * 1.25, `${role} has ${h} h`)
  })

  it('is a DAG with chains and fan-ins, and every role can start at once', () => {
    const fanIns = plan.tasks.filter((t) => t.dependsOn.length >= 3)
    assert.ok(fanIns.length >= 2, 'expected several fan-ins')
    const tasks = plan.tasks.map((t, order) => ({ ...t, status: 'pending' as const, order }))
    for (const role of ROLES) assert.ok(availableTasks(tasks, { role }).length >= 1, `${role} has nothing to start with`)
    // Completing tasks as they become available finishes the whole plan (no cycle, no dangling dependency).
    const done = new Set<string>()
    let rounds = 0
    for (;;) {
      const ready = availableTasks(tasks.map((t) => ({ ...t, status: done.has(t.id) ? 'done' as const : 'pending' as const })))
      if (ready.length === 0) break
      for (const t of ready) done.add(t.id)
      rounds++
    }
    assert.equal(done.size, 28)
    assert.ok(rounds >= 6, `the longest chain should be long, got ${rounds} rounds`)
  })
})
