import assert from 'node:assert/strict'
import { parsePlan, PlanValidationError, type PlanProblem } from '../../../plan/index.js'
import { parseMarkdownSource } from '../../../plan/parse/markdown.js'
import { SMALL_MARKDOWN } from './fixtures.js'

/** The problems parsePlan reports for text, or a failure if it accepts it. */
function problemsOf (text: string): PlanProblem[] {
  try {
    parsePlan(text, { format: 'markdown', file: 'plan.md' })
  } catch (err) {
    assert.ok(err instanceof PlanValidationError, `expected PlanValidationError, got ${String(err)}`)
    return err.problems
  }
  assert.fail('expected the plan to be rejected')
}

const HEAD = '# Plan: P\nid: p\n\n## Epic E1: Epic one\n'

describe('plan/parse/markdown', () => {
  it('records the line of every task, heading or compact', () => {
    const text = HEAD + [
      '### T1: First (1h)', // line 5
      '',
      '- [T2] Second (2h)', // line 7
      '- [T3] Third (3h)' // line 8
    ].join('\n')
    const parsed = parseMarkdownSource(text)
    assert.deepEqual(parsed.problems, [])
    assert.equal(parsed.lineOf(['tasks', 0]), 5)
    assert.equal(parsed.lineOf(['tasks', 1]), 7)
    assert.equal(parsed.lineOf(['tasks', 2]), 8)
    assert.equal(parsed.lineOf(['tasks', 2, 'estimatedHours']), 8)
    assert.equal(parsed.lineOf(['epics', 0]), 4)
  })

  it('maps each field bullet to its own line', () => {
    const parsed = parseMarkdownSource(SMALL_MARKDOWN)
    const lineOf = (start: string): number => SMALL_MARKDOWN.split('\n').findIndex((l) => l.startsWith(start)) + 1
    assert.equal(lineOf('### Task T2.1'), 22)
    assert.equal(parsed.lineOf(['tasks', 2]), lineOf('### Task T2.1'))
    assert.equal(parsed.lineOf(['tasks', 2, 'dependsOn', 1]), lineOf('- depends on:'))
    assert.equal(parsed.lineOf(['tasks', 2, 'priority']), lineOf('- priority: -1'))
    // A field the task does not set falls back to the task's line.
    assert.equal(parsed.lineOf(['tasks', 2, 'acceptance']), 22)
  })

  it('rejects an unknown field bullet, naming the key and line and suggesting the right one', () => {
    const problems = problemsOf(HEAD + '### T1: First\n- hours: 3\n- rol: backend\n')
    assert.equal(problems.length, 1)
    assert.equal(problems[0]?.line, 7)
    assert.equal(problems[0]?.path, 'tasks.T1.rol')
    assert.match(problems[0]?.message ?? '', /unknown field "rol" \(did you mean "role"\?\)/)
  })

  it('rejects an unknown attribute in a heading and in a compact task', () => {
    const problems = problemsOf(HEAD + '### T1: First (3h, owner: bob)\n- [T2] Second (2h, colour: red)\n')
    assert.deepEqual(problems.map((p) => [p.line, p.path]), [[5, 'tasks.T1.owner'], [6, 'tasks.T2.colour']])
  })

  it('rejects a field given twice, naming both lines', () => {
    const problems = problemsOf(HEAD + '### T1: First (3h)\n- hours: 4\n')
    assert.equal(problems.length, 1)
    assert.equal(problems[0]?.line, 6)
    assert.match(problems[0]?.message ?? '', /given twice \(first at line 5\)/)
  })

  it('reports hours and priority that are not numbers at their line', () => {
    const problems = problemsOf(HEAD + '### T1: First\n- hours: two days\n- priority: high\n')
    assert.deepEqual(problems.map((p) => [p.line, p.path]), [[6, 'tasks.T1.estimatedHours'], [7, 'tasks.T1.priority']])
    assert.match(problems[0]?.message ?? '', /number of hours like 16 or 16h, not "two days"/)
  })

  it('reports a task without hours at the task line', () => {
    const problems = problemsOf(HEAD + '\n### T1: First\nJust text.\n')
    assert.equal(problems.length, 1)
    assert.equal(problems[0]?.path, 'tasks.T1.estimatedHours')
    assert.equal(problems[0]?.line, 6)
    assert.equal(problems[0]?.message, 'is required')
  })

  it('keeps a trailing parenthesis that is not attributes in the title', () => {
    const plan = parsePlan(HEAD + '### T1: Fix the cache (legacy) (3h)\n### T2: Drop IE (the old one)\n- hours: 1\n')
    assert.equal(plan.tasks[0]?.title, 'Fix the cache (legacy)')
    assert.equal(plan.tasks[1]?.title, 'Drop IE (the old one)')
  })

  it('keeps code fences, sub-headings and plain lists in the description', () => {
    const plan = parsePlan(HEAD + [
      '### T1: First',
      '- hours: 2',
      'Run this:',
      '```sh',
      '# not a heading',
      '- role: not-a-field',
      '```',
      '#### Notes',
      '- a plain list item',
      '- see https://example.com/x',
      '- [x] a checkbox',
      '### T2: Second (1h)'
    ].join('\n'))
    assert.equal(plan.tasks.length, 2)
    assert.equal(plan.tasks[0]?.role, null)
    assert.equal(plan.tasks[0]?.description, [
      'Run this:', '```sh', '# not a heading', '- role: not-a-field', '```', '#### Notes',
      '- a plain list item', '- see https://example.com/x', '- [x] a checkbox'
    ].join('\n'))
  })

  it('joins indented continuation lines into a field', () => {
    const plan = parsePlan(HEAD + [
      '### T1: First (2h)',
      '- acceptance:',
      '  - returns 400',
      '  - logs the request id',
      '- depends:',
      '',
      'Body.',
      '- [T2] Second (1h, depends: T1)',
      '  - acceptance: it works',
      '    and keeps working',
      '  More words.'
    ].join('\n'))
    assert.equal(plan.tasks[0]?.acceptance, '- returns 400\n- logs the request id')
    assert.deepEqual(plan.tasks[0]?.dependsOn, [])
    assert.equal(plan.tasks[0]?.description, 'Body.')
    assert.equal(plan.tasks[1]?.acceptance, 'it works\nand keeps working')
    assert.equal(plan.tasks[1]?.description, 'More words.')
  })

  it('accepts bold keys, key aliases, ordered lists and a capitalised role', () => {
    const plan = parsePlan(HEAD + [
      '### T0: Zero (1h)',
      '### T1: First',
      '1. **Estimate:** 3 hrs',
      '2. **Role**: Backend',
      '3. dependsOn: [`T0`]',
      '4. prio: +2'
    ].join('\n'))
    const t = plan.tasks[1]
    assert.deepEqual([t?.estimatedHours, t?.role, t?.dependsOn, t?.priority], [3, 'backend', ['T0'], 2])
  })

  it('derives the plan id from the title when none is given', () => {
    const plan = parsePlan('# Plan: Architecture remediation, phase 2!\n## Epic E1: E\n### T1: T (1h)\n')
    assert.equal(plan.id, 'architecture-remediation-phase-2')
    assert.equal(plan.title, 'Architecture remediation, phase 2!')
  })

  it('rejects a field bullet after a compact task that was meant for it', () => {
    const problems = problemsOf(HEAD + '- [T1] First (1h)\n- role: backend\n')
    assert.equal(problems.length, 1)
    assert.equal(problems[0]?.line, 6)
    assert.match(problems[0]?.message ?? '', /field "role" follows a task but is not part of it/)
  })

  it('rejects a list item among compact tasks that is not a task', () => {
    const problems = problemsOf(HEAD + '- [T1] First (1h)\n- T2 Second (2h)\n')
    assert.equal(problems[0]?.line, 6)
    assert.match(problems[0]?.message ?? '', /must be a task/)
  })

  it('rejects tasks outside an epic and malformed headings, each at its line', () => {
    const problems = problemsOf([
      '# Plan: P', //        1
      '### T0: Early (1h)', // 2
      '## Backend', //       3
      '### T1: Orphan (1h)', // 4
      '## Epic E2: Fine', // 5
      '### Notes', //        6
      '- hours: 1' //        7
    ].join('\n'))
    assert.deepEqual(problems.map((p) => p.line), [2, 3, 4, 6])
    assert.match(problems[0]?.message ?? '', /tasks go under an epic heading/)
    assert.match(problems[1]?.message ?? '', /epic heading needs an id: "## Epic E1: Title", not "## Backend"/)
    assert.match(problems[3]?.message ?? '', /task heading needs an id/)
  })

  it('rejects a missing title and a second title', () => {
    assert.match(problemsOf('## Epic E1: E\n### T1: T (1h)\n')[0]?.message ?? '', /missing plan title/)
    const second = problemsOf('# Plan: A\n## Epic E1: E\n### T1: T (1h)\n# Plan: B\n')
    assert.equal(second[0]?.line, 4)
    assert.match(second[0]?.message ?? '', /first is at line 1/)
  })

  it('rejects unknown plan and epic fields', () => {
    const problems = problemsOf('# Plan: P\n- idd: p\n## Epic E1: E\n- rloe: backend\n### T1: T (1h)\n')
    assert.deepEqual(problems.map((p) => [p.line, p.path]), [[2, 'idd'], [4, 'epics.E1.rloe']])
    assert.match(problems[0]?.message ?? '', /did you mean "id"/)
    assert.match(problems[1]?.message ?? '', /did you mean "role"/)
  })

  it('rejects an empty plan', () => {
    const problems = problemsOf('# Plan: P\n\nNothing yet.\n')
    assert.deepEqual(problems.map((p) => p.path).sort(), ['epics', 'tasks'])
  })

  it('handles CRLF line endings and a byte-order mark', () => {
    const text = '\uFEFF' + SMALL_MARKDOWN.replace(/\n/g, '\r\n')
    assert.deepEqual(parsePlan(text), parsePlan(SMALL_MARKDOWN))
  })
})
