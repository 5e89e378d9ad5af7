import { own } from '../collections.js'
import { str, type FleetDoc } from '../schema.js'
import { readTask, writeTaskSpec, writeTaskState } from '../task-records.js'
import { editTaskSpec, newTaskSpec, type EditableTaskFields, type NewTaskFields } from './tasks.js'

/**
 * The writes of a plan import: pure functions of (document draft, input, now). What to write was
 * decided before (plan/revision.ts planImportOps and planEpicOps); these only apply it, inside
 * one Automerge change, with the time passed in.
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

/** Adds or updates epics (an update of an epic that is gone is skipped). */
export function writeEpics (d: FleetDoc, ops: readonly EpicWrite[]): void {
  for (const e of ops) {
    if (e.op === 'add') {
      d.epics[e.epic.id] = { id: str(e.epic.id), title: str(e.epic.title), role: e.epic.role === null ? null : str(e.epic.role), order: e.epic.order }
      continue
    }
    const have = own(d.epics, e.id)
    if (have === undefined) continue
    if (e.fields.title !== undefined) have.title = str(e.fields.title)
    if (e.fields.role !== undefined) have.role = e.fields.role === null ? null : str(e.fields.role)
    if (e.fields.order !== undefined) have.order = e.fields.order
  }
}

export interface PlanImportWrite {
  plan: { id: string, title: string }
  /** sha256 of the plan's canonical form. */
  digest: string
  epics: readonly EpicWrite[]
  tasks: readonly TaskImportWrite[]
  /** The plan's id, title or digest differ from what the document holds. */
  metaChanged: boolean
}

/** Applies a plan import: epics, then tasks (add, update, cancel; skip writes nothing), then the plan's metadata. */
export function applyPlanImport (d: FleetDoc, w: PlanImportWrite, now: number): void {
  writeEpics(d, w.epics)
  for (const op of w.tasks) {
    if (op.op === 'add') {
      writeTaskSpec(d, op.task.id, newTaskSpec(op.task, 'plan', now))
    } else if (op.op === 'update') {
      const t = readTask(d, op.id)
      if (t === undefined) continue
      writeTaskSpec(d, op.id, editTaskSpec(t, op.fields))
      writeTaskState(d, op.id, { updatedAt: now })
    } else if (op.op === 'cancel') {
      writeTaskState(d, op.id, { status: 'cancelled', reason: `removed from plan ${w.plan.id}`, updatedAt: now })
    }
  }
  if (w.metaChanged) {
    d.plan.id = str(w.plan.id)
    d.plan.title = str(w.plan.title)
    d.plan.digest = str(w.digest)
    d.plan.importedAt = now
  }
}
