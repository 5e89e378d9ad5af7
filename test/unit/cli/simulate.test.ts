import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { agentsForRoles } from '../../../node/agents/spec.js'
import { renderSimulation, simulatePlan } from '../../../node/cli/simulate.js'
import { readPlanFile } from '../../../plan/load.js'
import { removeDir, runCli, tempDir } from '../../../scripts/lib/node-process.js'

const SAMPLE = fileURLToPath(new URL('../../../../plan/examples/remediation-plan.md', import.meta.url))

describe('fleet plan simulate', function () {
  // Four CLI processes; each takes seconds to start on a loaded 2-core machine.
  this.timeout(300_000)

  it('the sample plan with the demo\'s 7 agents: bound 200 h, fleet order 244 h, plan order 268 h (the README\'s figures)', async () => {
    const plan = await readPlanFile(SAMPLE)
    const r = simulatePlan(plan, agentsForRoles([...new Set(plan.tasks.map(t => t.role as string))]))
    assert.deepEqual(r.agents, ['A:schemas', 'B:backend', 'C:facilities', 'D:incidents', 'E:routes', 'F:frontend', 'G:remaining'])
    assert.deepEqual([r.tasks, r.hours, r.criticalPathHours, r.lowerBoundHours, r.fleetOrderHours, r.planOrderHours], [28, 552, 200, 200, 244, 268])
    assert.deepEqual(r.criticalPath, ['T1.1', 'T1.2', 'T2.3', 'T3.6', 'T3.8', 'T4.4', 'T4.6', 'T4.7', 'T5.4'])
    assert.match(renderSimulation(r), /makespan, fleet order 244 h \(22\.0% over the bound\)/)
  })

  it('runs from the command line: figures, roles without agents named, exit 2 for bad --agents, 1 for a bad plan', async () => {
    const ok = await runCli(['plan', 'simulate', SAMPLE, '--agents', 'A:schemas,B:backend'])
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /2 agents \(A:schemas B:backend\)/)
    assert.match(ok.stdout, /not schedulable +20 tasks/)
    const json = await runCli(['plan', 'simulate', SAMPLE, '--json'])
    assert.equal((JSON.parse(json.stdout) as { fleetOrderHours: number }).fleetOrderHours, 244)
    const bad = await runCli(['plan', 'simulate', SAMPLE, '--agents', 'nobody'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /invalid --agents: "nobody" is not NAME:ROLE/)
    const dir = tempDir('fleet-simulate-')
    try {
      const file = join(dir, 'plan.md')
      writeFileSync(file, '# Plan: broken\nid: broken\n\n## Epic E1: x (role: dev)\n\n- [T1] Task (2h, depends: T9)\n')
      const broken = await runCli(['plan', 'simulate', file])
      assert.equal(broken.code, 1)
      assert.match(broken.stderr, /T9/)
    } finally {
      removeDir(dir)
    }
  })
})
