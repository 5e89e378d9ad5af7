import assert from 'node:assert/strict'
import { parsePlan, parsePlanValue, PlanValidationError } from '../../../plan/index.js'

/** A plan given as a JSON value (the import body) is validated as it is, with the same answer as its text. */
describe('plan: parsePlanValue', () => {
  const plan = {
    id: 'p', title: 'P',
    epics: [{ id: 'E', title: 'E' }],
    tasks: [
      { id: 'A', epic: 'E', title: 'a', estimatedHours: 2 },
      { id: 'B', epic: 'E', title: 'b', estimatedHours: 1, dependsOn: ['A'] }
    ]
  }

  it('gives the same plan as parsing its JSON text', () => {
    assert.deepEqual(parsePlanValue(plan, 'body.plan'), parsePlan(JSON.stringify(plan), { format: 'json', file: 'body.plan' }))
  })

  it('a plan with problems is refused with the same located problems as its text', () => {
    const bad = { ...plan, tasks: [...plan.tasks, { id: 'C', epic: 'E', title: 'c', estimatedHours: 1, dependsOn: ['nope'] }] }
    const fromValue = (() => { try { parsePlanValue(bad, 'body.plan'); return undefined } catch (e) { return e } })()
    assert.ok(fromValue instanceof PlanValidationError, 'refused')
    assert.throws(() => parsePlan(JSON.stringify(bad), { format: 'json', file: 'body.plan' }), (e: unknown) => {
      assert.deepEqual((e as PlanValidationError).problems, fromValue.problems)
      return true
    })
    assert.match(fromValue.message, /nope/)
  })
})
