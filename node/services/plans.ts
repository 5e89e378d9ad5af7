import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { DocStore } from '../../crdt/doc-store.js'
import { changeInChunks, chunkMinItems } from '../../crdt/chunked-change.js'
import { finishPlanImport, writeEpic, writeImportTask, type ImportGuard } from '../../crdt/mutations/plans.js'
import type { Projection, ProjectionCache } from '../../crdt/projection.js'
import { read, readOpt } from '../../crdt/schema.js'
import { pickFields, TASK_CONTENT_FIELDS } from '../../crdt/task-fields.js'
import { hasTask } from '../../crdt/task-records.js'
import type { TaskView } from '../../crdt/views.js'
import { prepareImport, type ImportCounts, type PreparedImport } from '../../plan/prepare.js'
import type { ExistingTask, ImportStep, Plan } from '../../plan/index.js'
import { planFromBody, planFromBytes, type PlanImportBody } from './plan-body.js'
import { DEFAULT_PLAN_WORKER_MIN_BYTES, DEFAULT_PLAN_WORKER_MIN_TASKS, prepareInWorker, type ExistingSource } from './plan-preparer.js'

export { PlanImportBody } from './plan-body.js'
export type { ImportCounts } from '../../plan/prepare.js'

export interface ImportSummary {
  planId: string
  title: string
  tasks: ImportCounts
  epics: { added: number, updated: number }
  skipped: Array<{ id: string, reason: string }>
  totalTasks: number
  totalEstimatedHours: number
  /** False when the document already held exactly this plan (heads unchanged). */
  changed: boolean
  heads: string[]
}

export interface PlanServiceInit {
  store: DocStore
  projection: ProjectionCache
  /** The clock (epoch ms) writes are stamped with; default Date.now. */
  now?: () => number
  /** Import bodies from this size are read and planned in a worker thread (default DEFAULT_PLAN_WORKER_MIN_BYTES; 0: always). */
  workerMinBytes?: number
  /** ...and so is any import into a document of this many tasks (default DEFAULT_PLAN_WORKER_MIN_TASKS). */
  workerMinTasks?: number
}

/**
 * Imports a plan into the document as an idempotent upsert keyed by task id: new tasks are added,
 * untouched pending ones updated or cancelled, anything claimed or finished left alone. Importing
 * the same plan again writes nothing, so the heads stay the same.
 */
export class PlanService {
  private readonly store: DocStore
  private readonly projection: ProjectionCache
  private readonly now: () => number
  private readonly workerMinBytes: number
  private readonly workerMinTasks: number
  private importing: Promise<unknown> = Promise.resolve()

  constructor (init: PlanServiceInit) {
    this.store = init.store
    this.projection = init.projection
    this.now = init.now ?? Date.now
    this.workerMinBytes = init.workerMinBytes ?? DEFAULT_PLAN_WORKER_MIN_BYTES
    this.workerMinTasks = init.workerMinTasks ?? DEFAULT_PLAN_WORKER_MIN_TASKS
  }

  /** Parses an import body; a bad plan is an InvalidInputError listing every problem (file, line, path). */
  parse (body: PlanImportBody): Plan {
    return planFromBody(body)
  }

  /** Imports an already validated plan (planned on the event loop: for plans held in memory). */
  async import (plan: Plan): Promise<ImportSummary> {
    return await this.serially(async () => await this.importHere(plan))
  }

  /**
   * Imports the raw JSON body of an import request. A large body, or any body when the document is
   * large, is parsed, validated and planned in a worker thread (plan-preparer.ts), the event loop
   * free meanwhile; a small one on the loop, where it takes a few ms. The same errors either way.
   */
  async importBody (bytes: Uint8Array): Promise<ImportSummary> {
    return await this.serially(async () => {
      if (bytes.byteLength < this.workerMinBytes && this.projection.get().tasks.size < this.workerMinTasks) {
        return await this.importHere(planFromBytes(bytes))
      }
      return await this.write(await prepareInWorker(bytes, this.existing()))
    })
  }

  /** One import at a time: an import spans many changes, and the next one plans from its result. */
  private async serially (run: () => Promise<ImportSummary>): Promise<ImportSummary> {
    const next = this.importing.then(run)
    this.importing = next.catch(() => undefined)
    return await next
  }

  /** Plans an import on the event loop, against the document as it is then, and writes it. */
  private async importHere (plan: Plan): Promise<ImportSummary> {
    // Let pending I/O run before the O(plan) planning.
    await yieldToLoop()
    const existing = this.existing()
    return await this.write(prepareImport(plan, [...existing.taskSlices(Number.MAX_SAFE_INTEGER)].flat(), existing.epics()))
  }

  /** The document's tasks and epics as an import compares them with the plan. */
  private existing (): ExistingSource {
    return {
      taskSlices: (size) => this.taskSlices(size),
      epics: () => Object.values(this.store.doc.epics).map(e => ({ id: read(e.id), title: read(e.title), role: readOpt(e.role), order: e.order }))
    }
  }

  /** The tasks in plan order, `size` at a time; each slice reads the view as it is when it is taken. */
  private * taskSlices (size: number): Generator<ExistingTask[]> {
    const all: TaskView[] = [...this.projection.get().tasks.inOrder()]
    for (let i = 0; i < all.length; i += size) {
      const view = this.projection.get()
      yield all.slice(i, i + size).map(t => ({
        ...pickFields(t, TASK_CONTENT_FIELDS),
        id: t.id,
        status: t.status,
        started: view.assignmentsByTask.has(t.id),
        source: t.source === 'plan' ? 'plan' : 'api'
      }))
    }
  }

  /** Applies a prepared import in chunks and sums it up. */
  private async write (prepared: PreparedImport): Promise<ImportSummary> {
    const doc = this.store.doc
    const { plan, digest } = prepared
    const metaChanged = readOpt(doc.plan.digest) !== digest || readOpt(doc.plan.id) !== plan.id || readOpt(doc.plan.title) !== plan.title
    const before = this.store.heads()

    if (prepared.steps.length > 0 || metaChanged) {
      const now = this.now()
      // Many changes of a bounded size, the loop free between them (crdt/chunked-change.ts); the
      // plan's digest, written in the last one, marks the import as finished (see importSteps).
      // The view before each change: keeps the projection's work spread over the import (one
      // refresh of every new task at the end blocked the loop), and re-checks updates and cancels.
      let live: Projection = this.projection.get()
      const guard: ImportGuard = {
        // Read from the document before this change (plain objects), not through the change's proxy (slow).
        exists: (id) => hasTask(this.store.doc, id),
        // Claimed or finished since the ops were planned (the loop ran between changes): left alone.
        untouched: (id) => {
          const current = live.taskById.get(id)
          return current !== undefined && !live.assignmentsByTask.has(id) && (current.status === 'pending' || current.status === 'blocked')
        }
      }
      await changeInChunks<ImportStep>({
        store: this.store,
        items: prepared.steps,
        // Larger changes into a large document (see chunkMinItems); a new task adds one entry.
        minItems: chunkMinItems(this.projection.get().tasks.size + prepared.tasks.added),
        message: `import plan ${plan.id}`,
        beforeStep: () => { live = this.projection.get() },
        apply: (d, step) => { if (step.kind === 'epic') writeEpic(d, step.op); else writeImportTask(d, step.op, plan.id, guard, now) },
        finish: (d) => { if (metaChanged) finishPlanImport(d, { plan, digest }, now) }
      })
    }
    let totalTasks = 0
    let totalEstimatedHours = 0
    for (const t of this.projection.get().tasks.inOrder()) {
      if (t.source !== 'plan' || t.status === 'cancelled') continue
      totalTasks++
      totalEstimatedHours += t.estimatedHours
    }
    return {
      planId: plan.id,
      title: plan.title,
      tasks: prepared.tasks,
      epics: prepared.epics,
      skipped: prepared.skipped,
      totalTasks,
      totalEstimatedHours,
      changed: this.store.heads().join() !== before.join(),
      heads: this.store.heads()
    }
  }
}
