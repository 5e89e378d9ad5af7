import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { getIn, putIn, valuesOf } from '../../crdt/collections.js'
import { str, type DocTask } from '../../crdt/schema.js'
import { taskView, type TaskView } from '../../crdt/views.js'
import { ConflictError, NotFoundError } from '../http/errors.js'

const id = z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'ids use letters, digits, . _ -')

export const CreateTaskInput = z.object({
  id,
  title: z.string().min(1).max(300),
  epic: id.nullable().optional(),
  description: z.string().max(20_000).optional(),
  estimatedHours: z.number().positive().max(10_000).optional(),
  role: z.string().regex(/^[a-z][a-z0-9_-]*$/).max(64).nullable().optional(),
  dependsOn: z.array(id).max(1000).optional(),
  priority: z.number().int().min(-1000).max(1000).optional(),
  acceptance: z.string().max(20_000).nullable().optional()
}).strict()
export type CreateTaskInput = z.infer<typeof CreateTaskInput>

export const DEFAULT_ESTIMATED_HOURS = 1

export interface TaskServiceInit {
  store: DocStore
}

/** Task reads and hand-made tasks; plan imports own most tasks (see the plan service). */
export class TaskService {
  private readonly store: DocStore

  constructor (init: TaskServiceInit) {
    this.store = init.store
  }

  list (): TaskView[] {
    const out: TaskView[] = []
    for (const t of valuesOf(this.store.doc.tasks)) out.push(taskView(t))
    return out.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id))
  }

  get (taskId: string): TaskView {
    const t = getIn(this.store.doc.tasks, taskId)
    if (t === undefined) throw new NotFoundError(`task ${taskId} not found`)
    return taskView(t)
  }

  /** Resolves once the task is on disk: the HTTP reply is the durability promise. */
  async create (input: CreateTaskInput): Promise<TaskView> {
    const now = Date.now()
    await this.store.change((d) => {
      if (getIn(d.tasks, input.id) !== undefined) throw new ConflictError(`task ${input.id} already exists`)
      for (const dep of input.dependsOn ?? []) {
        if (getIn(d.tasks, dep) === undefined) throw new ConflictError(`task ${input.id} depends on unknown task ${dep}`, { path: 'dependsOn', value: dep })
      }
      const task: DocTask = {
        id: str(input.id),
        title: str(input.title),
        epic: input.epic == null ? null : str(input.epic),
        description: str(input.description ?? ''),
        estimatedHours: input.estimatedHours ?? DEFAULT_ESTIMATED_HOURS,
        role: input.role == null ? null : str(input.role),
        dependsOn: (input.dependsOn ?? []).map(str),
        priority: input.priority ?? 0,
        acceptance: input.acceptance == null ? null : str(input.acceptance),
        order: now,
        status: str('pending'),
        attempt: 0,
        failures: 0,
        notBefore: 0,
        reason: null,
        source: str('api'),
        createdAt: now,
        updatedAt: now
      }
      putIn(d.tasks, input.id, task)
    }, `create task ${input.id}`)
    return this.get(input.id)
  }
}
