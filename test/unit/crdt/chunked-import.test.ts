import assert from 'node:assert/strict'
import { changeInChunks, chunkMinItems, DEFAULT_CHUNK_MAX_ITEMS, DEFAULT_CHUNK_MIN_ITEMS, DEFAULT_CHUNK_SIZE_DIVISOR } from '../../../crdt/chunked-change.js'
import { DocStore } from '../../../crdt/doc-store.js'
import { hasTask, writeTaskSpec } from '../../../crdt/task-records.js'
import { newTaskSpec } from '../../../crdt/mutations/tasks.js'
import { str, type FleetDoc } from '../../../crdt/schema.js'
import { MemoryChunkStore } from '../../../crdt/storage/memory-chunk-store.js'
import { DEFAULT_COORDINATION } from '../../../node/coord/settings.js'
import { silentLogger } from '../../../node/logger.js'
import { createServices } from '../../../node/services/index.js'
import { importSteps, parsePlan } from '../../../plan/index.js'
import { generatePlan } from '../../../scripts/lib/generate-plan.js'

/**
 * A large import is many bounded changes with the event loop free between them (issue 11), and
 * still reads as one import: the same tasks as one change would write, dependencies before
 * dependents, and the plan's marker only once everything is written.
 */
describe('plan import in chunks', () => {
  async function openStore (): Promise<DocStore> {
    return await DocStore.open({ storage: new MemoryChunkStore(), logger: silentLogger() })
  }

  /** One item of the direct changeInChunks tests: a task named `id`. */
  function writeItem (d: FleetDoc, id: string): void {
    writeTaskSpec(d, id, newTaskSpec({ title: id, epic: 'E', description: '', estimatedHours: 1, role: null, dependsOn: [], priority: 0, acceptance: null, order: 0 }, 'plan', 1))
  }

  /** Writes `count` items named prefix0.. through changeInChunks with a clock that moves 10 ms per reading; the items of each change. */
  async function stepSizes (store: DocStore, prefix: string, count: number, opts: { minItems: number, maxItems?: number, warmupItems: number }): Promise<number[]> {
    let clock = 0
    const sizes: number[] = []
    await changeInChunks({
      store,
      items: Array.from({ length: count }, (_, i) => `${prefix}${i}`),
      message: 'test import',
      budgetMs: 25,
      ...opts,
      now: () => (clock += 10),
      beforeStep: () => { sizes.push(0) },
      apply: (d, id) => {
        sizes[sizes.length - 1] = (sizes.at(-1) ?? 0) + 1
        writeItem(d, id)
      }
    })
    return sizes
  }

  it('imports 3,000 tasks in several changes, the loop running between them, and re-importing writes nothing', async function () {
    this.timeout(120_000)
    const store = await openStore()
    try {
      const s = createServices({ store, nodeId: 'node-1', settings: DEFAULT_COORDINATION, livePeers: () => [] })
      const plan = s.plans.parse({ plan: generatePlan(3000) })
      let changes = 0
      let markerAt = -1
      store.on('change', () => { changes++; if (store.doc.plan.digest !== null && markerAt < 0) markerAt = changes })
      let ticks = 0
      const ticker = setInterval(() => { ticks++ }, 1)
      const summary = await s.plans.import(plan)
      clearInterval(ticker)
      assert.equal(summary.totalTasks, 3000)
      assert.equal(summary.tasks.added, 3000)
      assert.ok(changes > 1, `several changes (got ${changes})`)
      assert.equal(markerAt, changes, 'the plan marker is written in the last change only')
      assert.ok(ticks > 0, 'timers ran while the import was under way')
      const again = await s.plans.import(plan)
      assert.equal(again.changed, false, 'the same plan again writes nothing')
    } finally {
      await store.close()
    }
  })

  it('writes every dependency the import adds before its dependents', () => {
    const plan = parsePlan(JSON.stringify({
      id: 'p', title: 'p',
      epics: [{ id: 'E', title: 'E' }],
      tasks: [
        { id: 'C', epic: 'E', title: 'c', estimatedHours: 1, dependsOn: ['B', 'A'] },
        { id: 'B', epic: 'E', title: 'b', estimatedHours: 1, dependsOn: ['A'] },
        { id: 'A', epic: 'E', title: 'a', estimatedHours: 1 },
        { id: 'D', epic: 'E', title: 'd', estimatedHours: 1 }
      ]
    }), { format: 'json' })
    const ops = plan.tasks.map((task, order) => ({ op: 'add' as const, task: { ...task, order } }))
    const order = importSteps([], ops).map(s => s.kind === 'task' && s.op.op === 'add' ? s.op.task.id : '?')
    assert.deepEqual(order, ['A', 'B', 'C', 'D'])
  })

  it('a failure half-way leaves the changes made so far but not the marker, and rejects', async () => {
    const store = await openStore()
    try {
      const items = Array.from({ length: 50 }, (_, i) => `T${i}`)
      await assert.rejects(changeInChunks({
        store,
        items,
        message: 'test import',
        minItems: 10,
        maxItems: 10,
        warmupItems: 0,
        apply: (d, id) => {
          if (id === 'T35') throw new Error('boom')
          writeItem(d, id)
        },
        finish: (d) => { d.plan.digest = str('done') }
      }), /boom/)
      assert.ok(hasTask(store.doc, 'T29'), 'the first three changes were made')
      assert.ok(!hasTask(store.doc, 'T30'), 'the failed change wrote nothing')
      assert.equal(store.doc.plan.digest, null, 'no marker: the import is not shown as finished')
    } finally {
      await store.close()
    }
  })

  it('writes its first items in steps bounded by the time budget alone, then at least minItems per step', async () => {
    // The first items run on cold code (3-4x slower): a first step of minItems was the longest
    // block of a 10k import. A clock that moves 10 ms per reading ends a budget step at 3 items.
    const store = await openStore()
    try {
      const sizes = await stepSizes(store, 'T', 100, { minItems: 20, maxItems: 50, warmupItems: 10 })
      // After the warm-up a step writes minItems, then on until the budget is spent (3 clock readings).
      assert.deepEqual(sizes, [3, 3, 3, 3, 22, 22, 22, 22], 'budget-bound steps until 10 items are written, then at least minItems per step')
      assert.ok(hasTask(store.doc, 'T99'))
      // A write that fits in one step is one change, even on a clock that says every item is slow.
      const small = await stepSizes(store, 'S', 20, { minItems: 20, warmupItems: 10 })
      assert.equal(small.length, 1, 'a write of minItems items is one change')
    } finally {
      await store.close()
    }
  })

  it('makes fewer, larger changes into a large collection: at most DEFAULT_CHUNK_SIZE_DIVISOR changes of a full import from 25,000 items on', () => {
    // Each change copies the buckets it touches (O(collection)): the count of changes, not only
    // their size, decides what a 100k import costs every node.
    for (const size of [0, 1, 999, 10_000, 25_000, 40_000, 60_000, 100_000]) {
      const min = chunkMinItems(size)
      assert.ok(min >= DEFAULT_CHUNK_MIN_ITEMS && min <= DEFAULT_CHUNK_MAX_ITEMS, `${min} items per change at ${size} is out of bounds`)
      const changes = Math.ceil(size / min)
      if (size >= DEFAULT_CHUNK_MIN_ITEMS * DEFAULT_CHUNK_SIZE_DIVISOR) assert.ok(changes <= DEFAULT_CHUNK_SIZE_DIVISOR, `${changes} changes for ${size} items`)
    }
    assert.equal(chunkMinItems(10_000), DEFAULT_CHUNK_MIN_ITEMS, 'a 10k import keeps the measured floor')
    assert.equal(chunkMinItems(100_000), DEFAULT_CHUNK_MAX_ITEMS)
  })
})
