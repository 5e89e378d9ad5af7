import type { TaskSpec } from './schema.js'

/* No runtime imports: `fleet agent` processes use pickFields without loading Automerge. */

/**
 * The task's spec fields, in stored order (the key order of the spec JSON). With TaskSpec
 * (crdt/schema.ts) these lists are the one declaration of a task's fields: the views
 * (crdt/views.ts), the plan's task (plan/schema.ts), the spec copies (crdt/mutations/tasks.ts),
 * the plan import and the agents' task are derived from them. A new field is declared in
 * TaskSpec and here (the check below fails to compile otherwise), and nowhere else.
 */
export const TASK_SPEC_FIELDS = ['title', 'epic', 'description', 'estimatedHours', 'role', 'dependsOn', 'priority', 'acceptance', 'order', 'source', 'createdAt'] as const satisfies ReadonlyArray<keyof TaskSpec>
/** The spec fields a plan or an API edit sets (the node itself sets source and createdAt). */
export const TASK_CONTENT_FIELDS = ['title', 'epic', 'description', 'estimatedHours', 'role', 'dependsOn', 'priority', 'acceptance', 'order'] as const satisfies ReadonlyArray<keyof TaskSpec>
export type TaskContentField = typeof TASK_CONTENT_FIELDS[number]
export type TaskContent = Pick<TaskSpec, TaskContentField>
/** Compiles only while TASK_SPEC_FIELDS names every key of TaskSpec. */
export type TaskSpecFieldsComplete = Exclude<keyof TaskSpec, typeof TASK_SPEC_FIELDS[number]> extends never ? true : never
export const TASK_SPEC_FIELDS_COMPLETE: TaskSpecFieldsComplete = true

/** The listed fields of `from`, in the list's order; arrays are copied, so the result shares nothing mutable. */
export function pickFields<T, K extends keyof T> (from: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>
  for (const k of keys) {
    const v = from[k]
    out[k] = (Array.isArray(v) ? [...v] : v) as T[K]
  }
  return out
}
