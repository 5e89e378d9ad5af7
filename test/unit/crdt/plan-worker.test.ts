import assert from 'node:assert/strict'
import { DocStore } from '../../../crdt/doc-store.js'
import { InvalidInputError } from '../../../crdt/errors.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices, type Services } from '../../../node/services/index.js'
import { prepareInWorker, type ExistingSource } from '../../../node/services/plan-preparer.js'
import { PlanService } from '../../../node/services/plans.js'
import { prepareImport } from '../../../plan/prepare.js'
import { parsePlanValue, type ExistingTask } from '../../../plan/index.js'
import { generatePlan } from '../../../scripts/lib/generate-plan.js'

/**
 * A large import body is read and planned in a worker thread (issue 11: the loop is not blocked
 * for the O(plan) steps). What a client sees must not depend on where that happened: the same
 * summary, the same document, the same errors with the same problems and lines.
 */
describe('plan import planned in a worker thread', () => {
  const bytesOf = (body: unknown): Buffer => Buffer.from(JSON.stringify(body))

  interface Node { store: DocStore, s: Services, inWorker: PlanService, onLoop: PlanService }

  async function node (): Promise<Node> {
    const store = await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
    const s = createServices({ store, nodeId: 'node-1', settings: DEFAULT_COORDINATION, livePeers: () => [] })
    return {
      store,
      s,
      inWorker: new PlanService({ store, projection: s.projection, workerMinBytes: 0 }),
      onLoop: new PlanService({ store, projection: s.projection, workerMinBytes: Infinity, workerMinTasks: Infinity })
    }
  }

  /** Every task as a client reads it (the projection), and the plan's marker. */
  function contents (n: Node): unknown {
    const v = n.s.projection.get()
    // Times and the claim's random id differ between the two nodes by construction.
    const tasks = [...v.tasks.inOrder()].map(t => Object.fromEntries(Object.entries(t).filter(([k]) => !k.endsWith('At') && k !== 'assignmentId')))
    return { tasks, digest: n.store.doc.plan.digest?.toString() ?? null, plan: n.store.doc.plan.id?.toString() ?? null }
  }

  /** A revision of the generated plan: one task edited, the last one dropped, two added. */
  function revised (base: ReturnType<typeof generatePlan>): unknown {
    const p = JSON.parse(JSON.stringify(base)) as { tasks: Array<{ id: string, title: string, epic: string, estimatedHours: number, dependsOn?: string[] }> }
    // The last task goes (nothing depends on it), so every other task keeps its place.
    const tasks = p.tasks.slice(0, -1)
    ;(tasks[1] as { title: string }).title = 'edited by the revision'
    tasks.push({ id: 'N1', epic: 'E1', title: 'new one', estimatedHours: 2, dependsOn: ['N2'] }, { id: 'N2', epic: 'E1', title: 'new two', estimatedHours: 3, dependsOn: [] })
    return { ...p, tasks }
  }

  it('imports and re-imports exactly as on the loop: same summaries, same document', async function () {
    this.timeout(120_000)
    const [a, b] = [await node(), await node()]
    try {
      const first = generatePlan(1500)
      const body1 = bytesOf({ plan: first })
      const wa = await a.inWorker.importBody(body1)
      const lb = await b.onLoop.importBody(body1)
      assert.deepEqual({ ...wa, heads: [] }, { ...lb, heads: [] }, 'the same summary of a fresh import')
      assert.equal(wa.tasks.added, 1500)
      assert.deepEqual(contents(a), contents(b), 'the same tasks after a fresh import')

      // Work begun on one task: the revision must leave it alone on both.
      for (const n of [a, b]) {
        await n.s.agents.register({ id: 'ag', role: 'backend' })
        await n.s.assignments.claim({ taskId: 'T1.0', agentId: 'ag' })
      }
      const body2 = bytesOf({ plan: revised(first) })
      const wa2 = await a.inWorker.importBody(body2)
      const lb2 = await b.onLoop.importBody(body2)
      assert.deepEqual({ ...wa2, heads: [] }, { ...lb2, heads: [] }, 'the same summary of a revision')
      assert.deepEqual(wa2.tasks, { added: 2, updated: 1, cancelled: 1, unchanged: 1498, skipped: 0 })
      assert.deepEqual(contents(a), contents(b), 'the same tasks after the revision')

      const again = await a.inWorker.importBody(body2)
      assert.equal(again.changed, false, 'the same plan again through the worker writes nothing')
    } finally {
      await a.store.close()
      await b.store.close()
    }
  })

  it('passes the document and the writes across in slices without losing or reordering any', async function () {
    this.timeout(60_000)
    const plan = parsePlanValue(generatePlan(300), 'plan')
    const existing: ExistingTask[] = plan.tasks.slice(0, 120).map((t, order) => ({
      ...t, epic: t.epic ?? null, role: t.role ?? null, acceptance: t.acceptance ?? null, order: order + (order % 7 === 0 ? 1 : 0), status: order % 11 === 0 ? 'done' : 'pending', started: order % 11 === 0, source: 'plan'
    }))
    const source: ExistingSource = {
      taskSlices: function * (size) { for (let i = 0; i < existing.length; i += size) yield existing.slice(i, i + size) },
      epics: () => [{ id: 'E1', title: 'old title', role: null, order: 0 }]
    }
    const inWorker = await prepareInWorker(bytesOf({ plan: generatePlan(300) }), source, { slice: 7 })
    assert.deepEqual(inWorker, prepareImport(plan, existing, source.epics()))
  })

  it('refuses a bad body or plan with the same error and problems as the loop, and writes nothing', async function () {
    this.timeout(60_000)
    const n = await node()
    try {
      const bad = [
        Buffer.from('{"plan": '),
        bytesOf({ plan: {}, extra: 1 }),
        bytesOf({ content: '{\n  "id": "p",\n  "title": "t",\n  "epics": [{"id": "E", "title": "e"}],\n  "tasks": [{"id": "A", "epic": "E", "title": "a", "estimatedHours": 1, "dependsOn": ["B"]}]\n}', format: 'json', file: 'plan.json' })
      ]
      for (const body of bad) {
        const errs: unknown[] = []
        for (const service of [n.inWorker, n.onLoop]) {
          errs.push(await service.importBody(body).then(() => assert.fail('accepted a bad body'), (err: unknown) => err))
        }
        const [w, l] = errs as [InvalidInputError, InvalidInputError]
        assert.ok(w instanceof InvalidInputError, `the worker's refusal is an InvalidInputError (got ${String(w)})`)
        assert.equal(w.message, l.message)
        assert.deepEqual(w.details, l.details)
      }
      const located = await n.inWorker.importBody(bad[2] as Buffer).catch((err: InvalidInputError) => err) as InvalidInputError
      assert.deepEqual(located.details, [{ path: 'tasks.A.dependsOn[0]', message: 'unknown task "B" (did you mean "A"?)', file: 'plan.json', line: 5 }])
      assert.equal(n.s.projection.get().tasks.size, 0, 'nothing written')
    } finally {
      await n.store.close()
    }
  })
})
