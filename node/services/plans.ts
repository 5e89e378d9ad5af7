import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { own } from '../../crdt/collections.js'
import { editTaskSpec, newTaskSpec, specOf } from '../../crdt/mutations/tasks.js'
import { hasTask, readTask, writeTaskSpec, writeTaskState } from '../../crdt/task-records.js'
import { changeInChunks } from '../../crdt/chunked-change.js'
import type { Projection, ProjectionCache } from '../../crdt/projection.js'
import { read, readOpt, str } from '../../crdt/schema.js'
import { importSteps, parsePlan, parsePlanValue, PlanValidationError, planDigest, planEpicOps, planImportOps, PLAN_FORMATS, type Plan, type ExistingEpic, type ExistingTask, type ImportStep } from '../../plan/index.js'
import { BadRequestError } from '../http/errors.js'

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
}

/**
 * Imports a plan into the document as an idempotent upsert keyed by task id: new tasks are added,
 * untouched pending ones updated or cancelled, anything claimed or finished left alone. Importing
 * the same plan again writes nothing, so the heads stay the same.
 */
export class PlanService {
  private readonly store: DocStore
  private readonly projection: ProjectionCache
  private importing: Promise<unknown> = Promise.resolve()

  constructor (init: PlanServiceInit) {
    this.store = init.store
    this.projection = init.projection
  }

  /** Parses an import body; a bad plan is a 400 listing every problem (file, line, path). */
  parse (body: PlanImportBody): Plan {
    try {
      if ('content' in body) return parsePlan(body.content, { ...(body.format === undefined ? {} : { format: body.format }), ...(body.file === undefined ? {} : { file: body.file }) })
      return parsePlanValue(body.plan, 'body.plan')
    } catch (err) {
      if (err instanceof PlanValidationError) {
        throw new BadRequestError(`invalid plan: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`, err.problems)
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
      id: t.id,
      epic: t.epic,
      title: t.title,
      description: t.description,
      estimatedHours: t.estimatedHours,
      role: t.role,
      dependsOn: t.dependsOn,
      priority: t.priority,
      acceptance: t.acceptance,
      order: t.order,
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
    const metaChanged = readOpt(doc.plan.digest) !== digest || readOpt(doc.plan.id) !== plan.id || readOpt(doc.plan.title) !== plan.title
    const writes = ops.filter(o => o.op !== 'skip').length + epicOps.length
    const before = this.store.heads()

    if (writes > 0 || metaChanged) {
      const now = Date.now()
      // Many changes of a bounded size, the loop free between them (crdt/chunked-change.ts); the
      // plan's digest, written in the last one, marks the import as finished (see importSteps).
      // The view before each change: keeps the projection's work spread over the import (one
      // refresh of every new task at the end blocked the loop), and re-checks updates and cancels.
      let live: Projection = view
      await changeInChunks<ImportStep>({
        store: this.store,
        items: importSteps(epicOps, ops),
        message: `import plan ${plan.id}`,
        beforeStep: () => { live = this.projection.get() },
        apply: (d, step) => {
          if (step.kind === 'epic') {
            const e = step.op
            if (e.op === 'add') {
              d.epics[e.epic.id] = { id: str(e.epic.id), title: str(e.epic.title), role: e.epic.role === null ? null : str(e.epic.role), order: e.epic.order }
              return
            }
            const have = own(d.epics, e.id)
            if (have === undefined) return
            if (e.fields.title !== undefined) have.title = str(e.fields.title)
            if (e.fields.role !== undefined) have.role = e.fields.role === null ? null : str(e.fields.role)
            if (e.fields.order !== undefined) have.order = e.fields.order
            return
          }
          const op = step.op
          if (op.op === 'add') {
            // Created meanwhile (another node, the API): an upsert does not overwrite it. Read from the
            // document before this change (plain objects), not through the change's proxy (slow).
            if (!hasTask(this.store.doc, op.task.id)) writeTaskSpec(d, op.task.id, newTaskSpec({ ...op.task, acceptance: op.task.acceptance ?? null, role: op.task.role ?? null }, 'plan', now))
            return
          }
          // Claimed or finished since the ops were planned (the loop ran between changes): left alone.
          const current = live.taskById.get(op.id)
          if (current === undefined || live.assignmentsByTask.has(op.id) || (current.status !== 'pending' && current.status !== 'blocked')) return
          if (op.op === 'update') {
            const t = readTask(d, op.id)
            if (t !== undefined) {
              writeTaskSpec(d, op.id, editTaskSpec(specOf(t), op.fields))
              writeTaskState(d, op.id, { updatedAt: now })
            }
          } else if (op.op === 'cancel') {
            writeTaskState(d, op.id, { status: 'cancelled', reason: `removed from plan ${plan.id}`, updatedAt: now })
          }
        },
        finish: (d) => {
          if (!metaChanged) return
          d.plan.id = str(plan.id)
          d.plan.title = str(plan.title)
          d.plan.digest = str(digest)
          d.plan.importedAt = now
        }
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
