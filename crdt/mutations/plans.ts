import { own } from '../collections.js'
import { str, type FleetDoc } from '../schema.js'
import { readTask, writeTaskSpec, writeTaskState } from '../task-records.js'
import { editTaskSpec, newTaskSpec, type EditableTaskFields, type NewTaskFields } from './tasks.js'

/**
 * The writes of a plan import: pure functions of (document draft, input, now). What to write was
 * decided before (plan/revision.ts planImportOps and planEpicOps, ordered by plan/import-steps.ts);
 * these only apply it, with the time passed in. A large import spans many changes
 * (node/services/plans.ts), so task writes check the document as it is then (ImportGuard).
 */

export interface EpicRecord { id: string, title: string, role: string | null, order: number }

export type EpicWrite =
  | { op: 'add', epic: EpicRecord }
  | { op: 'update', id: string, fields: Partial<Omit<EpicRecord, 'id'>> }

export type TaskImportWrite =
  | { op: 'add', task: NewTaskFields & { id: string } }
  | { op: 'update', id: string, fields: EditableTaskFields }
  | { op: 'cancel', id: string }
  | { op: 'skip', id: string }

/** Adds or updates an epic (an update of an epic that is gone is skipped). */
export function writeEpic (d: FleetDoc, e: EpicWrite): void {
  if (e.op === 'add') {
    d.epics[e.epic.id] = { id: str(e.epic.id), title: str(e.epic.title), role: e.epic.role === null ? null : str(e.epic.role), order: e.epic.order }
    return
  }
  const have = own(d.epics, e.id)
  if (have === undefined) return
  if (e.fields.title !== undefined) have.title = str(e.fields.title)
  if (e.fields.role !== undefined) have.role = e.fields.role === null ? null : str(e.fields.role)
  if (e.fields.order !== undefined) have.order = e.fields.order
}

export interface PlanMeta {
  plan: { id: string, title: string }
  /** sha256 of the plan's canonical form. */
  digest: string
}

/** What a task write of an import needs to know of the document as it is now (an import spans changes). */
export interface ImportGuard {
  /** The task exists already (created meanwhile by another node or the API): an add does not overwrite it. */
  exists: (id: string) => boolean
  /** The task is still as planned (pending or blocked, unclaimed): updates and cancellations leave others alone. */
  untouched: (id: string) => boolean
}

/** Applies one task write of an import (skip writes nothing). */
export function writeImportTask (d: FleetDoc, op: TaskImportWrite, planId: string, guard: ImportGuard, now: number): void {
  if (op.op === 'skip') return
  if (op.op === 'add') {
    if (!guard.exists(op.task.id)) writeTaskSpec(d, op.task.id, newTaskSpec(op.task, 'plan', now))
    return
  }
  if (!guard.untouched(op.id)) return
  if (op.op === 'update') {
    const t = readTask(d, op.id)
    if (t === undefined) return
    writeTaskSpec(d, op.id, editTaskSpec(t, op.fields))
    writeTaskState(d, op.id, { updatedAt: now })
  } else {
    writeTaskState(d, op.id, { status: 'cancelled', reason: `removed from plan ${planId}`, updatedAt: now })
  }
}

/** The plan's id, title and digest: written last, they mark an import as finished. */
export function finishPlanImport (d: FleetDoc, m: PlanMeta, now: number): void {
  d.plan.id = str(m.plan.id)
  d.plan.title = str(m.plan.title)
  d.plan.digest = str(m.digest)
  d.plan.importedAt = now
}
