import type { TaskSpec } from '../schema.js'

/** The fields a task is created with: its spec without what the node itself sets. */
export type NewTaskFields = Omit<TaskSpec, 'source' | 'createdAt' | 'dependsOn'> & { dependsOn: readonly string[] }

export function newTaskSpec (f: NewTaskFields, source: 'plan' | 'api', now: number): TaskSpec {
  return {
    title: f.title,
    epic: f.epic,
    description: f.description,
    estimatedHours: f.estimatedHours,
    role: f.role,
    dependsOn: [...f.dependsOn],
    priority: f.priority,
    acceptance: f.acceptance,
    order: f.order,
    source,
    createdAt: now
  }
}

export type EditableTaskFields = Partial<NewTaskFields>

/** The spec with the given fields replaced (undefined leaves a field as it is). */
export function editTaskSpec (spec: TaskSpec, f: EditableTaskFields): TaskSpec {
  const out: TaskSpec = { ...spec, dependsOn: [...spec.dependsOn] }
  if (f.title !== undefined) out.title = f.title
  if (f.epic !== undefined) out.epic = f.epic
  if (f.description !== undefined) out.description = f.description
  if (f.estimatedHours !== undefined) out.estimatedHours = f.estimatedHours
  if (f.role !== undefined) out.role = f.role
  if (f.dependsOn !== undefined) out.dependsOn = [...f.dependsOn]
  if (f.priority !== undefined) out.priority = f.priority
  if (f.acceptance !== undefined) out.acceptance = f.acceptance
  if (f.order !== undefined) out.order = f.order
  return out
}

/** The spec part of a task record (for re-writing it after an edit). */
export function specOf (t: TaskSpec): TaskSpec {
  return {
    title: t.title, epic: t.epic, description: t.description, estimatedHours: t.estimatedHours, role: t.role,
    dependsOn: [...t.dependsOn], priority: t.priority, acceptance: t.acceptance, order: t.order, source: t.source, createdAt: t.createdAt
  }
}
