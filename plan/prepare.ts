import { planDigest } from './digest.js'
import { importSteps, type ImportStep } from './import-steps.js'
import { planEpicOps, planImportOps, type ExistingEpic, type ExistingTask, type ImportOp } from './revision.js'
import type { Plan } from './schema.js'

/**
 * Everything a plan import decides before it writes, as one pure function of the validated plan
 * and the tasks and epics the document holds: the digest that marks the import as finished, the
 * writes in the order they are applied (import-steps.ts), and what the summary reports. Each part
 * is O(plan + existing); a node runs it off its event loop for large plans (node/services/plan-worker.ts).
 */

export interface ImportCounts {
  added: number
  updated: number
  cancelled: number
  unchanged: number
  skipped: number
}

export interface PreparedImport {
  plan: { id: string, title: string }
  /** sha256 of the plan's canonical form (digest.ts), written last. */
  digest: string
  /** Epics first, then task updates and cancellations, then new tasks, dependencies first. */
  steps: ImportStep[]
  epics: { added: number, updated: number }
  tasks: ImportCounts
  /** Tasks the import leaves alone, with the reason. */
  skipped: Array<{ id: string, reason: string }>
}

export function prepareImport (plan: Plan, existing: readonly ExistingTask[], existingEpics: readonly ExistingEpic[]): PreparedImport {
  const ops = planImportOps(existing, plan)
  const epicOps = planEpicOps(existingEpics, plan)
  const { counts, skipped } = countImportOps(ops, plan)
  return {
    plan: { id: plan.id, title: plan.title },
    digest: planDigest(plan),
    steps: importSteps(epicOps, ops),
    epics: { added: epicOps.filter(e => e.op === 'add').length, updated: epicOps.filter(e => e.op === 'update').length },
    tasks: counts,
    skipped
  }
}

/** What an import will do, by kind of write, and the tasks it leaves alone with the reason. */
export function countImportOps (ops: readonly ImportOp[], plan: Plan): { counts: ImportCounts, skipped: Array<{ id: string, reason: string }> } {
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
