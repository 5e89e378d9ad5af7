import { str, type DocTask } from '../schema.js'

/** The fields a task is created with, as plain values. */
export interface NewTaskFields {
  id: string
  title: string
  epic: string | null
  description: string
  estimatedHours: number
  role: string | null
  dependsOn: readonly string[]
  priority: number
  acceptance: string | null
  order: number
}

export function newDocTask (f: NewTaskFields, source: 'plan' | 'api', now: number): DocTask {
  return {
    id: str(f.id),
    title: str(f.title),
    epic: f.epic === null ? null : str(f.epic),
    description: str(f.description),
    estimatedHours: f.estimatedHours,
    role: f.role === null ? null : str(f.role),
    dependsOn: f.dependsOn.map(str),
    priority: f.priority,
    acceptance: f.acceptance === null ? null : str(f.acceptance),
    order: f.order,
    status: str('pending'),
    attempt: 0,
    failures: 0,
    notBefore: 0,
    reason: null,
    source: str(source),
    createdAt: now,
    updatedAt: now
  }
}

export type EditableTaskFields = Partial<Omit<NewTaskFields, 'id'>>

/** Writes only the fields given (so concurrent edits of other fields survive the merge). */
export function applyTaskFields (t: DocTask, f: EditableTaskFields, now: number): void {
  if (f.title !== undefined) t.title = str(f.title)
  if (f.epic !== undefined) t.epic = f.epic === null ? null : str(f.epic)
  if (f.description !== undefined) t.description = str(f.description)
  if (f.estimatedHours !== undefined) t.estimatedHours = f.estimatedHours
  if (f.role !== undefined) t.role = f.role === null ? null : str(f.role)
  if (f.dependsOn !== undefined) t.dependsOn = f.dependsOn.map(str)
  if (f.priority !== undefined) t.priority = f.priority
  if (f.acceptance !== undefined) t.acceptance = f.acceptance === null ? null : str(f.acceptance)
  if (f.order !== undefined) t.order = f.order
  t.updatedAt = now
}
