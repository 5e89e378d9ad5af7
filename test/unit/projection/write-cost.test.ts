import assert from 'node:assert/strict'
import { DocStore } from '../../../crdt/doc-store.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'
import { generatePlan } from '../../../scripts/lib/generate-plan.js'
import { newTaskSpec } from '../../../crdt/mutations/tasks.js'
import { writeTaskSpec } from '../../../crdt/task-records.js'

/**
 * The cost of one write must not grow with the plan (issue 11): the same writes (task creates,
 * claims, confirmations, progress, completions, cancellations) against a 1,000-task and a
 * 20,000-task document, through the real services and store, counting the projection's work.
 * Counted steps are deterministic, so the ratio bound is exact, not a timing on a busy machine.
 */

interface Cost { work: number, updates: number, rebuilds: number, ms: number }

async function writesOn (tasks: number, rounds: number): Promise<Cost> {
  const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
  try {
    const s: Services = createServices({ store, nodeId: 'node-1', settings: { ...DEFAULT_COORDINATION, progressThrottleMs: 0 }, livePeers: () => [] })
    // The bench:plan shape (20 epics of dependency chains), written in one change as an import
    // writes it (parsing and validating a 20k-task plan would only slow the test down).
    const plan = generatePlan(tasks) as { tasks: Array<{ id: string, epic: string, title: string, description: string, estimatedHours: number, dependsOn: string[], priority: number }> }
    await store.change((d) => {
      plan.tasks.forEach((t, order) => {
        writeTaskSpec(d, t.id, newTaskSpec({ ...t, role: order % 2 === 0 ? 'backend' : null, acceptance: null, order }, 'plan', 1))
      })
    })
    await s.agents.register({ id: 'agent-1', role: 'backend' })
    const before = { ...s.projection.stats }
    for (let i = 0; i < rounds; i++) {
      await s.tasks.create({ id: `new-${i}`, title: `a task made by hand ${i}`, dependsOn: ['T1.0'] })
      const next = s.tasks.available('backend')[0]
      assert.ok(next !== undefined, 'a task is available')
      const a = await s.assignments.claim({ taskId: next.id, agentId: 'agent-1' })
      await s.assignments.confirm(a.id)
      await s.assignments.progress(a.id, { percent: 50, message: 'half way' })
      await s.assignments.complete(a.id, { summary: 'done' })
      await s.tasks.update(`new-${i}`, { status: 'cancelled' })
      s.progress.overview()
    }
    const after = s.projection.stats
    return { work: after.work - before.work, updates: after.updates - before.updates, rebuilds: after.rebuilds - before.rebuilds, ms: after.ms - before.ms }
  } finally {
    await store.close()
  }
}

describe('projection: the cost of a write does not grow with the document', () => {
  it('the same 210 writes cost less than 2x the projection work at 20,000 tasks as at 1,000', async function () {
    this.timeout(180_000)
    const small = await writesOn(1_000, 30)
    const large = await writesOn(20_000, 30)
    const ratio = large.work / small.work
    // eslint-disable-next-line no-console -- the measured figures are the point of this test
    console.log(`      projection work for 210 writes: ${small.work} steps at 1k tasks, ${large.work} at 20k (ratio ${ratio.toFixed(2)}); time ${small.ms.toFixed(0)} ms vs ${large.ms.toFixed(0)} ms`)
    assert.equal(large.rebuilds, 0, 'no full rebuild on the write path')
    assert.equal(small.updates, large.updates, 'the same number of incremental updates')
    assert.ok(ratio < 2, `work ratio ${ratio.toFixed(2)} (20k/1k) must stay under 2`)
  })
})
