import { z } from 'zod'
import type { DocStore } from '../../crdt/doc-store.js'
import { own } from '../../crdt/collections.js'
import { editTaskSpec, newTaskSpec } from '../../crdt/mutations/tasks.js'
import { ProjectionCache, type Projection, type TaskState } from '../../crdt/projection.js'
import { TASK_STATUSES, type FleetDoc } from '../../crdt/schema.js'
import { hasTask, readTask, writeTaskSpec, writeTaskState } from '../../crdt/task-records.js'
import type { UrgencyKey } from '../../crdt/task-index.js'
import { findCycle } from '../../plan/graph.js'
import { IdSchema, RoleSchema, TaskFieldSchemas as F } from '../../plan/schema.js'
import { ConflictError, NotFoundError } from '../../crdt/errors.js'
import { decodeCursor, PageQuery, takePage, type Page } from './paging.js'

export const DEFAULT_ESTIMATED_HOURS = 1

/** Priorities set through the API stay in this range. */
export const MAX_API_PRIORITY = 1000

/**
 * The fields a task is created or edited with (the plan's field rules, plan/schema.ts); all but
 * the title are optional, and through the API a task may have no epic, role or acceptance.
 */
const EditableFields = z.object({
  title: F.title,
  epic: IdSchema.nullable(),
  description: F.description,
  estimatedHours: F.estimatedHours,
  role: F.role.nullable(),
  dependsOn: F.dependsOn,
  priority: F.priority.min(-MAX_API_PRIORITY).max(MAX_API_PRIORITY),
  acceptance: F.acceptance.nullable()
}).partial()

/** What a task created through the API has for each field it was not given. */
const NEW_TASK_DEFAULTS = { epic: null, description: '', estimatedHours: DEFAULT_ESTIMATED_HOURS, role: null, dependsOn: [], priority: 0, acceptance: null }

export const CreateTaskInput = EditableFields.extend({
  id: IdSchema,
  title: F.title
}).strict()
export type CreateTaskInput = z.infer<typeof CreateTaskInput>

export const UpdateTaskInput = EditableFields.extend({
  /** Only these transitions are made by hand: cancel, or re-open a cancelled task. */
  status: z.enum(['cancelled', 'pending']).optional()
}).strict().refine((v) => Object.keys(v).length > 0, 'give at least one field to change')
export type UpdateTaskInput = z.infer<typeof UpdateTaskInput>

export const TaskFilter = z.object({
  status: z.enum(TASK_STATUSES).optional(),
  epic: IdSchema.optional(),
  role: RoleSchema.optional()
}).extend(PageQuery.shape).strict()
export type TaskFilter = z.infer<typeof TaskFilter>

export const AvailableQuery = z.object({ role: RoleSchema.optional() }).extend(PageQuery.shape).strict()
export type AvailableQuery = z.infer<typeof AvailableQuery>

/** An available task: its state and the hours of the longest chain of work it starts (itself included). */
export type AvailableTask = TaskState & { downstreamHours: number }

export interface TaskServiceInit {
  store: DocStore
  projection: ProjectionCache
  /** The clock (epoch ms) writes are stamped with; default Date.now. */
  now?: () => number
}

/** Tasks: reads from the projection, writes through the store (each resolves once on disk). */
export class TaskService {
  private readonly store: DocStore
  private readonly projection: ProjectionCache
  private readonly now: () => number

  constructor (init: TaskServiceInit) {
    this.store = init.store
    this.projection = init.projection
    this.now = init.now ?? Date.now
  }

  view (): Projection {
    return this.projection.get()
  }

  list (filter: TaskFilter = {}): TaskState[] {
    return this.listPage(filter).items
  }

  /** Tasks in plan order, filtered; a page of them with `limit` (the cursor resumes after the last one). */
  listPage (filter: TaskFilter = {}): Page<TaskState> {
    const tasks = this.view().tasks
    let from: Iterable<TaskState> = tasks.inOrder()
    if (filter.cursor !== undefined) {
      const [order, id] = decodeCursor(filter.cursor, 'ns') as [number, string]
      from = tasks.inOrderAfter({ order, id })
    }
    return takePage(matching(from, filter), filter.limit, t => [t.order, t.id])
  }

  get (taskId: string): TaskState {
    const t = this.view().taskById.get(taskId)
    if (t === undefined) throw new NotFoundError(`task ${taskId} not found`, { taskId })
    return t
  }

  /**
   * Pending tasks whose dependencies are done and whose retry backoff has passed, most urgent first
   * (crdt/rules/availability.ts urgency: priority, then the longest downstream chain, then plan
   * order), each with its `downstreamHours`. Read from the ready index: the cost is the tasks
   * returned plus those backing off, not the plan.
   */
  available (role?: string, now = Date.now()): AvailableTask[] {
    return this.availablePage({ ...(role === undefined ? {} : { role }) }, now).items
  }

  /** The task an agent of this role should take next (the first available one), found in O(1) of the plan. */
  next (role: string, now = Date.now()): AvailableTask | undefined {
    return this.availablePage({ role, limit: 1 }, now).items[0]
  }

  /** A page of available tasks; the cursor is the last one's urgency key (priority, chain, order, id). */
  availablePage (query: AvailableQuery = {}, now = Date.now()): Page<AvailableTask> {
    let after: UrgencyKey | undefined
    if (query.cursor !== undefined) {
      const [priority, downstreamHours, order, id] = decodeCursor(query.cursor, 'nnns') as [number, number, number, string]
      after = { priority, downstreamHours, order, id }
    }
    const view = this.view()
    return takePage(withChains(notBackingOff(view.tasks.ready(query.role, after), now), view.downstream), query.limit, t => [t.priority, t.downstreamHours, t.order, t.id])
  }

  async create (input: CreateTaskInput): Promise<TaskState> {
    const now = this.now()
    // Every check is inside the mutator, on the document it writes: safe to group.
    await this.store.groupChange((d) => {
      if (hasTask(d, input.id)) throw new ConflictError(`task ${input.id} already exists`, { taskId: input.id })
      checkDependencies(d, input.id, input.dependsOn ?? [])
      // Hand-made tasks go after the plan's, in creation order. No state is written: every field
      // has its default, and a task never updated shows its createdAt as updatedAt (projection.ts),
      // on nodes of every version; one op fewer per create on every replica.
      writeTaskSpec(d, input.id, newTaskSpec({ ...NEW_TASK_DEFAULTS, ...input, order: now }, 'api', now))
    }, `create task ${input.id}`)
    return this.get(input.id)
  }

  async update (taskId: string, input: UpdateTaskInput): Promise<TaskState> {
    const current = this.get(taskId)
    const now = this.now()
    await this.store.change((d) => {
      const t = readTask(d, taskId)
      if (t === undefined) throw new NotFoundError(`task ${taskId} not found`, { taskId })
      if (input.dependsOn !== undefined) checkDependencies(d, taskId, input.dependsOn)
      if (input.epic != null && own(d.epics, input.epic) === undefined) throw new ConflictError(`epic ${input.epic} does not exist`, { path: 'epic' })
      if (input.status === 'cancelled') {
        if (current.status === 'done') throw new ConflictError(`task ${taskId} is done and cannot be cancelled`, { status: current.status })
        writeTaskState(d, taskId, { status: 'cancelled', reason: 'cancelled through the API' })
      } else if (input.status === 'pending') {
        if (current.status !== 'cancelled') throw new ConflictError(`only a cancelled task can be re-opened; ${taskId} is ${current.status}`, { status: current.status })
        writeTaskState(d, taskId, { status: 'pending', attempt: t.attempt + 1, reason: null })
      }
      const { status: _status, ...fields } = input
      if (Object.keys(fields).length > 0) writeTaskSpec(d, taskId, editTaskSpec(t, fields))
      writeTaskState(d, taskId, { updatedAt: now })
    }, `update task ${taskId}`)
    return this.get(taskId)
  }

  /** A failed (or cancelled-dependency-blocked) task goes back to pending with a fresh attempt count. */
  async retry (taskId: string): Promise<TaskState> {
    const current = this.get(taskId)
    if (current.status !== 'failed') throw new ConflictError(`only a failed task can be retried; ${taskId} is ${current.status}`, { status: current.status })
    const now = this.now()
    await this.store.change((d) => {
      const t = readTask(d, taskId)
      if (t === undefined) throw new NotFoundError(`task ${taskId} not found`)
      writeTaskState(d, taskId, { status: 'pending', attempt: t.attempt + 1, failures: 0, notBefore: 0, reason: null, updatedAt: now })
    }, `retry task ${taskId}`)
    return this.get(taskId)
  }
}

function * matching (tasks: Iterable<TaskState>, filter: TaskFilter): Generator<TaskState> {
  for (const t of tasks) {
    if ((filter.status === undefined || t.status === filter.status) &&
      (filter.epic === undefined || t.epic === filter.epic) &&
      (filter.role === undefined || t.role === filter.role)) yield t
  }
}

function * notBackingOff (tasks: Iterable<TaskState>, now: number): Generator<TaskState> {
  for (const t of tasks) if (t.notBefore <= now) yield t
}

/** The tasks as the available list shows them: with the chain figure that ordered them. */
function * withChains (tasks: Iterable<TaskState>, downstream: ReadonlyMap<string, number>): Generator<AvailableTask> {
  for (const t of tasks) yield { ...t, downstreamHours: downstream.get(t.id) ?? 0 }
}

/** Dependencies must exist and must not close a cycle through this task. */
function checkDependencies (d: FleetDoc, taskId: string, deps: readonly string[]): void {
  for (const dep of deps) {
    if (dep === taskId) throw new ConflictError(`task ${taskId} cannot depend on itself`, { path: 'dependsOn' })
    if (!hasTask(d, dep)) throw new ConflictError(`task ${taskId} depends on unknown task ${dep}`, { path: 'dependsOn', value: dep })
  }
  const cycle = findCycle(taskId, deps, (id) => readTask(d, id)?.dependsOn ?? [])
  if (cycle !== null) throw new ConflictError(`dependency cycle: ${cycle.join(' -> ')}`, { path: 'dependsOn', cycle })
}
