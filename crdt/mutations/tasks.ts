import type { TaskSpec } from '../schema.js'
import { pickFields, TASK_CONTENT_FIELDS, TASK_SPEC_FIELDS, type TaskContent } from '../task-fields.js'

/** The fields a task is created with: its spec without what the node itself sets. */
export type NewTaskFields = Omit<TaskContent, 'dependsOn'> & { dependsOn: readonly string[] }

export function newTaskSpec (f: NewTaskFields, source: 'plan' | 'api', now: number): TaskSpec {
  return { ...pickFields(f as TaskContent, TASK_CONTENT_FIELDS), source, createdAt: now }
}

export type EditableTaskFields = Partial<NewTaskFields>

/**
 * The spec part of `t` (a spec, or a whole task record) with the given fields replaced (undefined
 * leaves a field as it is): what is written back after an edit.
 */
export function editTaskSpec (t: TaskSpec, f: EditableTaskFields): TaskSpec {
  const given = TASK_CONTENT_FIELDS.filter(k => f[k] !== undefined)
  // Assigning keeps the stored key order of the spec JSON.
  return Object.assign(specOf(t), pickFields(f as TaskContent, given))
}

/** The spec part of a task record (a copy: nothing mutable is shared). */
export function specOf (t: TaskSpec): TaskSpec {
  return pickFields(t, TASK_SPEC_FIELDS)
}
