import assert from 'node:assert/strict'
import { parsePlan, PlanValidationError, validatePlan, type Plan, type PlanProblem } from '../../../plan/index.js'
import { SMALL_JSON, SMALL_PLAN, SMALL_YAML } from './fixtures.js'

function rejection (text: string, opts: Parameters<typeof parsePlan>[1] = {}): PlanValidationError {
  try {
    parsePlan(text, opts)
  } catch (err) {
    assert.ok(err instanceof PlanValidationError, `expected PlanValidationError, got ${String(err)}`)
    assert.equal(err.name, 'PlanValidationError')
    return err
  }
  assert.fail('expected the plan to be rejected')
}

function find (problems: PlanProblem[], path: string): PlanProblem {
  const p = problems.find((x) => x.path === path)
  assert.ok(p !== undefined, `no problem at ${path}; got:\n${problems.map((x) => `${x.path}: ${x.message}`).join('\n')}`)
  return p
}

const MD_HEAD = '# Plan: P\nid: p\n\n## Epic E1: Epic one\n'

describe('plan validation', () => {
  describe('syntax errors', () => {
    it('reports a JSON syntax error with its line and column', () => {
      const err = rejection('{\n  "id": "p",\n  "title": "t"\n  "epics": []\n}', { file: 'p.json' })
      assert.equal(err.problems.length, 1)
      assert.equal(err.problems[0]?.line, 4)
      assert.equal(err.message, 'p.json:4: invalid JSON at column 3: unexpected "\\"" where "," or "}" should be')
    })

    it('reports truncated JSON and duplicate keys', () => {
      assert.match(rejection('{"id": "p", ', { format: 'json' }).message, /^line 1: invalid JSON at column 13: unexpected end of input/)
      const dup = rejection('{\n"id": "p",\n"id": "q"}', { format: 'json' })
      assert.equal(dup.problems[0]?.line, 3)
      assert.match(dup.message, /duplicate key "id"/)
    })

    it('reports a YAML syntax error with its line', () => {
      const err = rejection('id: p\ntitle: t\nepics:\n  - id: E1\n   title: x\n', { format: 'yaml', file: 'p.yaml' })
      assert.ok(err.problems.length >= 1)
      assert.equal(err.problems[0]?.file, 'p.yaml')
      assert.equal(err.problems[0]?.line, 5)
      assert.match(err.message, /^p\.yaml:5: invalid YAML: /)
    })

    it('reports a duplicate YAML key at its line', () => {
      const err = rejection('id: p\ntitle: t\nid: q\n', { format: 'yaml' })
      assert.equal(err.problems[0]?.line, 3)
    })
  })

  describe('shape', () => {
    it('names unknown JSON fields with their line and a suggestion', () => {
      const text = SMALL_JSON.replace('"estimatedHours": 8,', '"estimatedHours": 8, "dependOn": [],')
      const err = rejection(text, { file: 'plan.json' })
      const p = find(err.problems, 'tasks.T1.2.dependOn')
      assert.equal(p.line, 14)
      assert.match(p.message, /unknown field "dependOn" \(did you mean "dependsOn"\?\)/)
      assert.ok(err.message.includes('plan.json:14: tasks.T1.2.dependOn: unknown field "dependOn"'))
    })

    it('names unknown YAML fields with their line', () => {
      const err = rejection(SMALL_YAML.replace('    role: frontend\n', '    role: frontend\n    owner: bob\n'), { format: 'yaml' })
      const p = find(err.problems, 'tasks.T2.1.owner')
      assert.equal(p.line, 32)
    })

    it('reports bad ids, roles, hours and priorities at their YAML lines', () => {
      const yaml = [
        'id: p', //            1
        'title: P', //         2
        'epics:', //           3
        '  - id: E1', //       4
        '    title: E', //     5
        '    role: Back End', // 6
        'tasks:', //           7
        '  - id: "T 1"', //    8
        '    epic: E1', //     9
        '    title: T', //     10
        '    estimatedHours: 0', // 11
        '    priority: 1.5', //    12
        '  - id: T2', //       13
        '    epic: E1', //     14
        '    title: ""', //    15
        '    estimatedHours: 20000' // 16
      ].join('\n')
      const err = rejection(yaml, { format: 'yaml' })
      assert.deepEqual(err.problems.map((p) => [p.line, p.path]), [
        [6, 'epics.E1.role'],
        [8, 'tasks[0].id'],
        [11, 'tasks[0].estimatedHours'],
        [12, 'tasks[0].priority'],
        [15, 'tasks.T2.title'],
        [16, 'tasks.T2.estimatedHours']
      ])
      assert.match(find(err.problems, 'epics.E1.role').message, /lowercase identifier/)
      assert.match(find(err.problems, 'tasks[0].id').message, /only letters, digits/)
      assert.equal(find(err.problems, 'tasks[0].estimatedHours').message, 'must be greater than 0')
      assert.equal(find(err.problems, 'tasks[0].priority').message, 'must be an integer')
      assert.match(find(err.problems, 'tasks.T2.estimatedHours').message, /at most 10000/)
    })

    it('reports missing and mistyped fields', () => {
      const err = rejection(JSON.stringify({ id: 'p', title: 'P', epics: [{ id: 'E1', title: 'E' }], tasks: [{ id: 'T1', epic: 'E1', estimatedHours: '3' }] }))
      assert.equal(find(err.problems, 'tasks.T1.title').message, 'is required')
      assert.equal(find(err.problems, 'tasks.T1.estimatedHours').message, 'must be a number, not the text "3"')
    })

    it('rejects ids that are too long and text over its limit', () => {
      const long = 'x'.repeat(65)
      const err = rejection(JSON.stringify({ id: long, title: 't'.repeat(301), epics: [{ id: 'E1', title: 'E' }], tasks: [{ id: 'T1', epic: 'E1', title: 'T', estimatedHours: 1, description: 'd'.repeat(20_001) }] }))
      assert.match(find(err.problems, 'id').message, /at most 64/)
      assert.match(find(err.problems, 'title').message, /at most 300/)
      assert.match(find(err.problems, 'tasks.T1.description').message, /at most 20000/)
    })

    it('rejects a document that is not an object', () => {
      const err = rejection('- just\n- a list\n', { format: 'yaml' })
      assert.equal(err.problems.length, 1)
      assert.equal(err.problems[0]?.path, '')
      assert.match(err.problems[0]?.message ?? '', /must be an object, not a list/)
      assert.match(rejection('', { format: 'yaml' }).message, /^the plan is empty/)
    })
  })

  describe('semantics', () => {
    it('names both lines of a duplicate task id', () => {
      const err = rejection(MD_HEAD + '### T1: A (1h)\n### T2: B (1h)\n### T1: C (1h)\n', { file: 'p.md' })
      assert.equal(err.problems.length, 1)
      assert.equal(err.message, 'p.md:7: tasks.T1.id: duplicate task id T1 (also at line 5)')
    })

    it('names both places of a duplicate epic id in JSON', () => {
      const err = rejection(SMALL_JSON.replace('{ "id": "E2", "title": "Frontend" }', '{ "id": "E1", "title": "Frontend" }'))
      const p = find(err.problems, 'epics.E1.id')
      assert.equal(p.line, 6)
      assert.match(p.message, /duplicate epic id E1 \(also at line 5\)/)
    })

    it('reports an unknown dependency and epic, with suggestions', () => {
      const err = rejection(MD_HEAD + '### T1.1: A (1h)\n### T1.2: B (1h, depends: T1.3)\n', { format: 'markdown' })
      const p = find(err.problems, 'tasks.T1.2.dependsOn[0]')
      assert.equal(p.line, 6)
      assert.match(p.message, /unknown task "T1.3" \(did you mean "T1.1"\?\)/)

      const epic = rejection(SMALL_JSON.replace('"epic": "E2", "title": "Docs"', '"epic": "E3", "title": "Docs"'))
      assert.match(find(epic.problems, 'tasks.T2.2.epic').message, /unknown epic "E3"/)
    })

    it('reports a self-dependency and a repeated dependency', () => {
      const err = rejection(MD_HEAD + '### T1: A (1h, depends: T1)\n### T2: B (1h, depends: T1, T1)\n')
      assert.match(find(err.problems, 'tasks.T1.dependsOn[0]').message, /T1 depends on itself/)
      assert.match(find(err.problems, 'tasks.T2.dependsOn[1]').message, /lists T1 more than once/)
    })

    it('names a dependency cycle, starting from its first task in plan order', () => {
      const err = rejection(MD_HEAD + [
        '### T0: Root (1h)',
        '### T1: A (1h, depends: T0, T3)', // line 6
        '### T2: B (1h, depends: T1)',
        '### T3: C (1h, depends: T2)'
      ].join('\n'), { file: 'p.md' })
      assert.equal(err.problems.length, 1)
      assert.equal(err.message, 'p.md:6: tasks.T1.dependsOn[1]: dependency cycle: T1 -> T3 -> T2 -> T1')
    })

    it('names each separate cycle once', () => {
      const err = rejection(MD_HEAD + [
        '- [A] a (1h, depends: B)',
        '- [B] b (1h, depends: A)',
        '- [C] c (1h, depends: D, A)',
        '- [D] d (1h, depends: E)',
        '- [E] e (1h, depends: C)'
      ].join('\n'))
      assert.deepEqual(err.problems.map((p) => p.message), [
        'dependency cycle: A -> B -> A',
        'dependency cycle: C -> D -> E -> C'
      ])
    })

    it('reports every problem at once, in line order', () => {
      const err = rejection(MD_HEAD + [
        '### T1: A (0h, depends: T9)', // 5: hours, unknown dep
        '- owner: me', //                 6: unknown field
        '### T2: B (1h, depends: T3)', // 7: cycle T2 -> T3 -> T2
        '### T3: C (1h, depends: T2)', // 8
        '### T2: D (2h)' //               9: duplicate id
      ].join('\n'), { file: 'plan.md' })
      assert.deepEqual(err.problems.map((p) => [p.line, p.path]), [
        [5, 'tasks.T1.estimatedHours'],
        [5, 'tasks.T1.dependsOn[0]'],
        [6, 'tasks.T1.owner'],
        [7, 'tasks.T2.dependsOn[0]'],
        [9, 'tasks.T2.id']
      ])
      const lines = err.message.split('\n')
      assert.equal(lines.length, 5)
      assert.ok(lines.every((l) => l.startsWith('plan.md:')), err.message)
      assert.match(lines[3] ?? '', /dependency cycle: T2 -> T3 -> T2/)
    })

    it('validatePlan checks a Plan built in code', () => {
      assert.deepEqual(validatePlan(SMALL_PLAN), [])
      const bad: Plan = structuredClone(SMALL_PLAN)
      bad.tasks[0]!.dependsOn = ['T2.1']
      bad.tasks[3]!.estimatedHours = 0
      bad.tasks[3]!.epic = 'E9'
      assert.deepEqual(validatePlan(bad).map((p) => `${p.path}: ${p.message}`), [
        'tasks.T2.2.epic: unknown epic "E9" (did you mean "E1"?)',
        'tasks.T2.2.estimatedHours: must be greater than 0',
        'tasks.T1.1.dependsOn[0]: dependency cycle: T1.1 -> T2.1 -> T1.1'
      ])
    })
  })
})
