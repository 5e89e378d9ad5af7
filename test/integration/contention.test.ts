import assert from 'node:assert/strict'
import { killAll, removeDir, startCluster, type StartedNode } from '../../scripts/lib/node-process.js'
import { prepareStorm, runClaimStorm, stormSummary } from '../../scripts/lib/claim-storm.js'
import { waitFor } from '../../scripts/lib/wait.js'
import { getJson } from '../helpers/http.js'

/**
 * The claim guarantee under contention (issue 17): 12 agents race for the first few available
 * tasks through 3 different nodes, no partition, no kill. Every state an agent is ever shown is
 * recorded; no task attempt may be shown `confirmed` for two assignments.
 */
describe('claim storm: 12 agents racing through 3 nodes', function () {
  this.timeout(240_000)
  const nodes: StartedNode[] = []
  after(async () => {
    await killAll()
    for (const n of nodes.splice(0)) removeDir(n.dataDir)
  })

  it('confirms at least 150 claims and never confirms one task attempt to two agents', async () => {
    nodes.push(...await startCluster(3))
    const agents = await prepareStorm(nodes.map(n => n.url), { tasks: 170, agentsPerNode: 4, role: 'backend', waitFor })
    const t0 = Date.now()
    const r = await runClaimStorm({ agents, role: 'backend', targetConfirmed: 150, deadline: t0 + 150_000 })
    if (process.env.FLEET_TEST_VERBOSE !== undefined) process.stdout.write(`      (${stormSummary(r, (Date.now() - t0) / 1000)})\n`)
    assert.deepEqual(r.doubleConfirmed, [], `task attempts confirmed to two assignments: ${JSON.stringify(r.doubleConfirmed)}`)
    assert.ok(r.confirmed >= 150, `only ${r.confirmed} claims confirmed before the deadline (${stormSummary(r, (Date.now() - t0) / 1000)})`)
    assert.ok(r.claimsAccepted > r.confirmed, 'no claim ever lost a race: the storm did not contend')
    // Every node names one assignee per task, the same everywhere.
    await waitFor(async () => {
      const now = await Promise.all(nodes.map(async n => JSON.stringify((await getJson<Array<{ id: string, assignmentId: string | null }>>(n.url, '/api/tasks')).map(t => [t.id, t.assignmentId]))))
      return now.every(v => v === now[0])
    }, 'the 3 nodes to agree on every task\'s assignment', 30_000)
  })
})
