import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { applyPlanImport } from '../../crdt/mutations/plans.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import { read, readOpt } from '../../crdt/schema.js'
import { pickFields, TASK_CONTENT_FIELDS } from '../../crdt/task-fields.js'
import { parsePlan, PlanValidationError, planDigest, planEpicOps, planImportOps, PLAN_FORMATS, type Plan, type ExistingEpic, type ExistingTask } from '../../plan/index.js'
import { InvalidInputError } from '../../crdt/errors.js'

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

  constructor (init: PlanServiceInit) {
    this.store = init.store
    this.projection = init.projection
    this.now = init.now ?? Date.now
  }

  /** Parses an import body; a bad plan is a 400 listing every problem (file, line, path). */
  parse (body: PlanImportBody): Plan {
    try {
      if ('content' in body) return parsePlan(body.content, { ...(body.format === undefined ? {} : { format: body.format }), ...(body.file === undefined ? {} : { file: body.file }) })
      return parsePlan(JSON.stringify(body.plan), { format: 'json', file: 'body.plan' })
    } catch (err) {
      if (err instanceof PlanValidationError) {
        throw new InvalidInputError(`invalid plan: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`, err.problems)
      }
      throw err
    }
  }

  async import (plan: Plan): Promise<ImportSummary> {
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
      const now = this.now()
      const write = { plan: { id: plan.id, title: plan.title }, digest, epics: epicOps, tasks: ops, metaChanged }
      await this.store.change((d) => { applyPlanImport(d, write, now) }, `import plan ${plan.id}`)
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
