import type { Plan, PlanEpic, PlanTask } from './schema.js'

/**
 * What re-importing a plan changes. Pure: compares the tasks already in the document with the new
 * plan and lists the operations to apply. Identical tasks produce nothing, so importing the same
 * plan twice leaves the document untouched. Work that has begun is never rewritten.
 */

/** The fields a plan owns, as stored per task; order is the task's position in the plan. */
export interface PlanTaskRecord extends PlanTask {
  order: number
}

export type PlanTaskFields = Omit<PlanTaskRecord, 'id'>

export interface ExistingTask {
  id: string
  epic: string | null
  title: string
  description: string
  estimatedHours: number
  role: string | null
  dependsOn: readonly string[]
  priority: number
  acceptance: string | null
  order: number
  /** Derived status ('pending', 'blocked', 'claimed', 'in_progress', 'review', 'done', 'failed', 'cancelled'). */
  status: string
  /** The task has, or ever had, an assignment. */
  started: boolean
  source: 'plan' | 'api'
}

export type ImportOp =
  | { op: 'add', task: PlanTaskRecord }
  | { op: 'update', id: string, fields: Partial<PlanTaskFields> }
  | { op: 'cancel', id: string }
  | { op: 'skip', id: string, reason: string }

export interface PlanEpicRecord extends PlanEpic {
  order: number
}

export interface ExistingEpic {
  id: string
  title: string
  role: string | null
  order: number
}

export type EpicOp =
  | { op: 'add', epic: PlanEpicRecord }
  | { op: 'update', id: string, fields: Partial<Omit<PlanEpicRecord, 'id'>> }

const TASK_FIELD_NAMES = ['epic', 'title', 'description', 'estimatedHours', 'role', 'dependsOn', 'priority', 'acceptance', 'order'] as const

/**
 * Task operations for importing plan over existing. Order: plan order for adds/updates/skips of
 * tasks in the plan, then cancels/skips of tasks the plan dropped (in their stored order).
 */
export function planImportOps (existing: readonly ExistingTask[], plan: Plan): ImportOp[] {
  const ops: ImportOp[] = []
  const byId = new Map<string, ExistingTask>()
  for (const t of existing) if (!byId.has(t.id)) byId.set(t.id, t)
  const inPlan = new Set<string>()

  plan.tasks.forEach((task, order) => {
    inPlan.add(task.id)
    const wanted: PlanTaskRecord = { ...task, dependsOn: [...task.dependsOn], order }
    const have = byId.get(task.id)
    if (have === undefined) {
      ops.push({ op: 'add', task: wanted })
      return
    }
    const fields = changedFields(have, wanted)
    const changed = Object.keys(fields)
    if (have.status === 'cancelled') {
      ops.push({ op: 'skip', id: task.id, reason: `${task.id} is cancelled; the plan lists it again, re-open it through the API to restore it` })
      return
    }
    if (changed.length === 0) return
    const frozen = frozenReason(have)
    if (have.source !== 'plan') {
      ops.push({ op: 'skip', id: task.id, reason: `${task.id} was created through the API; the plan does not overwrite it (changed: ${changed.join(', ')})` })
    } else if (frozen !== undefined) {
      ops.push({ op: 'skip', id: task.id, reason: `${task.id} ${frozen}; plan changes not applied (changed: ${changed.join(', ')})` })
    } else {
      ops.push({ op: 'update', id: task.id, fields })
    }
  })

  const dropped = existing
    .filter((t) => t.source === 'plan' && !inPlan.has(t.id) && t.status !== 'cancelled' && byId.get(t.id) === t)
    .sort((a, b) => a.order - b.order)
  for (const t of dropped) {
    const frozen = frozenReason(t)
    ops.push(frozen === undefined
      ? { op: 'cancel', id: t.id }
      : { op: 'skip', id: t.id, reason: `${t.id} is no longer in the plan but ${frozen}; left as it is` })
  }
  return ops
}

/** Epic operations: add new epics, update changed ones; epics the plan dropped are left alone. */
export function planEpicOps (existing: readonly ExistingEpic[], plan: Plan): EpicOp[] {
  const byId = new Map<string, ExistingEpic>()
  for (const e of existing) if (!byId.has(e.id)) byId.set(e.id, e)
  const ops: EpicOp[] = []
  plan.epics.forEach((epic, order) => {
    const have = byId.get(epic.id)
    if (have === undefined) {
      ops.push({ op: 'add', epic: { ...epic, order } })
      return
    }
    const fields: Partial<Omit<PlanEpicRecord, 'id'>> = {}
    if (have.title !== epic.title) fields.title = epic.title
    if (have.role !== epic.role) fields.role = epic.role
    if (have.order !== order) fields.order = order
    if (Object.keys(fields).length > 0) ops.push({ op: 'update', id: epic.id, fields })
  })
  return ops
}

/**
 * Why a task's plan fields may no longer change, or undefined while it is untouched. 'blocked' is a
 * pending task waiting on a failed dependency: editing the plan is how that gets fixed.
 */
function frozenReason (t: ExistingTask): string | undefined {
  if (t.status !== 'pending' && t.status !== 'blocked') return `is already ${t.status}`
  if (t.started) return 'has already been started'
  return undefined
}

function changedFields (have: ExistingTask, wanted: PlanTaskRecord): Partial<PlanTaskFields> {
  const out: Partial<PlanTaskFields> = {}
  const set = <K extends keyof PlanTaskFields>(k: K, v: PlanTaskFields[K]): void => { out[k] = v }
  for (const k of TASK_FIELD_NAMES) {
    const a = have[k]
    const b = wanted[k]
    const same = Array.isArray(a) && Array.isArray(b) ? sameList(a, b) : a === b
    if (!same) set(k, b)
  }
  return out
}

function sameList (a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
