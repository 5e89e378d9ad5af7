import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { changeInChunks } from '../../crdt/chunked-change.js'
import { InvalidInputError } from '../../crdt/errors.js'
import { finishPlanImport, writeEpic, writeImportTask, type ImportGuard } from '../../crdt/mutations/plans.js'
import type { Projection, ProjectionCache } from '../../crdt/projection.js'
import { read, readOpt } from '../../crdt/schema.js'
import { pickFields, TASK_CONTENT_FIELDS } from '../../crdt/task-fields.js'
import { hasTask } from '../../crdt/task-records.js'
import { importSteps, parsePlan, parsePlanValue, PlanValidationError, planDigest, planEpicOps, planImportOps, PLAN_FORMATS, type Plan, type ExistingEpic, type ExistingTask, type ImportStep } from '../../plan/index.js'

/** Import body: the plan text with its format, or a plan object given as JSON. */
export const PlanImportBody = z.union([
  z.object({
    content: z.string().min(1, 'the plan text is empty'),
    format: z.enum(PLAN_FORMATS).optional(),
    file: z.string().max(512).optional()
  }).strict(),
  z.object({ plan: z.unknown() }).strict()
])
export type PlanImportBody = z.infer<typeof PlanImportBody>

export interface ImportCounts {
  added: number
  updated: number
  cancelled: number
  unchanged: number
  skipped: number
}

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
  private importing: Promise<unknown> = Promise.resolve()

  constructor (init: PlanServiceInit) {
    this.store = init.store
    this.projection = init.projection
    this.now = init.now ?? Date.now
  }

  /** Parses an import body; a bad plan is a 400 listing every problem (file, line, path). */
  parse (body: PlanImportBody): Plan {
    try {
      if ('content' in body) return parsePlan(body.content, { ...(body.format === undefined ? {} : { format: body.format }), ...(body.file === undefined ? {} : { file: body.file }) })
      return parsePlanValue(body.plan, 'body.plan')
    } catch (err) {
      if (err instanceof PlanValidationError) {
        throw new InvalidInputError(`invalid plan: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`, err.problems)
      }
      throw err
    }
  }

  /** One import at a time: an import spans many changes, and the next one plans from its result. */
  async import (plan: Plan): Promise<ImportSummary> {
    const run = this.importing.then(async () => await this.importNow(plan))
    this.importing = run.catch(() => undefined)
    return await run
  }

  private async importNow (plan: Plan): Promise<ImportSummary> {
    // Parsing and validating a large plan, planning its writes and its digest are each O(plan) on
    // the loop: let pending I/O run between them (the writes re-check what may change meanwhile).
    await yieldToLoop()
    const view = this.projection.get()
    const started = new Set(view.assignmentsByTask.keys())
    const existing: ExistingTask[] = [...view.tasks.inOrder()].map(t => ({
      ...pickFields(t, TASK_CONTENT_FIELDS),
      id: t.id,
      status: t.status,
      started: started.has(t.id),
      source: t.source === 'plan' ? 'plan' : 'api'
    }))
    const doc = this.store.doc
    const existingEpics: ExistingEpic[] = Object.values(doc.epics).map(e => ({ id: read(e.id), title: read(e.title), role: readOpt(e.role), order: e.order }))
    const ops = planImportOps(existing, plan)
    const epicOps = planEpicOps(existingEpics, plan)
    await yieldToLoop()
    const digest = planDigest(plan)
    const { counts, skipped } = countImportOps(ops, plan)
    const metaChanged = readOpt(doc.plan.digest) !== digest || readOpt(doc.plan.id) !== plan.id || readOpt(doc.plan.title) !== plan.title
    const writes = ops.filter(o => o.op !== 'skip').length + epicOps.length
    const before = this.store.heads()

    if (writes > 0 || metaChanged) {
      const now = this.now()
      // Many changes of a bounded size, the loop free between them (crdt/chunked-change.ts); the
      // plan's digest, written in the last one, marks the import as finished (see importSteps).
      // The view before each change: keeps the projection's work spread over the import (one
      // refresh of every new task at the end blocked the loop), and re-checks updates and cancels.
      let live: Projection = view
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
        items: importSteps(epicOps, ops),
        message: `import plan ${plan.id}`,
        beforeStep: () => { live = this.projection.get() },
        apply: (d, step) => { if (step.kind === 'epic') writeEpic(d, step.op); else writeImportTask(d, step.op, plan.id, guard, now) },
        finish: (d) => { if (metaChanged) finishPlanImport(d, { plan: { id: plan.id, title: plan.title }, digest }, now) }
      })
    }
    const after = this.projection.get()
    const inPlan = [...after.tasks.inOrder()].filter(t => t.source === 'plan' && t.status !== 'cancelled')
    return {
      planId: plan.id,
      title: plan.title,
      tasks: counts,
      epics: { added: epicOps.filter(e => e.op === 'add').length, updated: epicOps.filter(e => e.op === 'update').length },
      skipped,
      totalTasks: inPlan.length,
      totalEstimatedHours: inPlan.reduce((h, t) => h + t.estimatedHours, 0),
      changed: this.store.heads().join() !== before.join(),
      heads: this.store.heads()
    }
  }
}

/** What an import will do, by kind of write, and the tasks it leaves alone with the reason. */
function countImportOps (ops: ReturnType<typeof planImportOps>, plan: Plan): { counts: ImportCounts, skipped: Array<{ id: string, reason: string }> } {
  const counts: ImportCounts = { added: 0, updated: 0, cancelled: 0, unchanged: 0, skipped: 0 }
  const skipped: Array<{ id: string, reason: string }> = []
  for (const op of ops) {
    if (op.op === 'add') counts.added++
    else if (op.op === 'update') counts.updated++
    else if (op.op === 'cancel') counts.cancelled++
    else { counts.skipped++; skipped.push({ id: op.id, reason: op.reason }) }
  }
  const touched = new Set(ops.map(o => o.op === 'add' ? o.task.id : o.id))
  counts.unchanged = plan.tasks.filter(t => !touched.has(t.id)).length
  return { counts, skipped }
}
