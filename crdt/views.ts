import type { TaskSpec, TaskStateFields } from './schema.js'

/**
 * The JSON shape of a task as the API returns it (before claims are folded in): its spec and the
 * state fields clients read, derived from the one declaration in schema.ts.
 */
export interface TaskView extends TaskSpec, Pick<TaskStateFields, 'attempt' | 'reason' | 'updatedAt'> {
  id: string
  status: string
}
