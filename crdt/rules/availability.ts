/**
 * Which tasks an agent may take next. Pure functions of task statuses, so every node (and the
 * HTTP API, and the dashboard) computes the same answer from the same document.
 */

export type SchedStatus = 'pending' | 'claimed' | 'in_progress' | 'review' | 'done' | 'failed' | 'cancelled' | 'blocked'

export interface SchedTask {
  id: string
  /** Already derived (claims and leases applied); 'blocked' is accepted and treated as blocked. */
  status: SchedStatus
  dependsOn: readonly string[]
  /** Higher is more urgent. */
  priority: number
  /** Position in the plan: the tie-break after priority. */
  order: number
  /** null: any role may take it. */
  role: string | null
  /**
   * Hours of the longest chain of work this task starts, itself included (crdt/rules/chains.ts;
   * plan/critical-path.ts downstreamHours for a plain list): the tie-break after priority, so a
   * long chain is not started late. Absent counts as 0.
   */
  downstreamHours?: number
}

export interface AvailableOptions {
  /** Only tasks for this role, plus tasks with no role. */
  role?: string
}

/**
 * Pending tasks that can never start as things stand, with the reason naming the root cause:
 * `dependency T1.2 failed`, `dependency T1.3 is blocked (T1.2 failed)`. Linear in tasks plus edges.
 */
export function blockedReasons (tasks: readonly SchedTask[]): Map<string, string> {
  const byId = new Map<string, SchedTask>()
  for (const t of tasks) if (!byId.has(t.id)) byId.set(t.id, t)
  // Plan order, so replicas listing tasks differently give the same reasons.
  const pending = [...byId.values()].filter((t) => t.status === 'pending').sort(byPlanOrder)
  const dependents = new Map<string, SchedTask[]>()
  for (const t of pending) {
    for (const d of new Set(t.dependsOn)) {
      const list = dependents.get(d)
      if (list === undefined) dependents.set(d, [t])
      else list.push(t)
    }
  }

  const directCause = (dep: string): string | undefined => {
    const d = byId.get(dep)
    if (d === undefined) return `${dep} does not exist`
    if (d.status === 'failed' || d.status === 'cancelled') return `${dep} ${d.status}`
    if (d.status === 'blocked') return `${dep} is blocked`
    return undefined
  }

  // Breadth-first from the tasks with a direct cause; distance lets each other task name a
  // dependency strictly closer to the root cause, so the explanation never goes round a cycle.
  const distance = new Map<string, number>()
  const rootCause = new Map<string, string>()
  const reasons = new Map<string, string>()
  const queue: SchedTask[] = []
  for (const t of pending) {
    for (const dep of t.dependsOn) {
      const cause = directCause(dep)
      if (cause === undefined) continue
      distance.set(t.id, 0)
      rootCause.set(t.id, cause)
      reasons.set(t.id, `dependency ${cause}`)
      queue.push(t)
      break
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const u = queue[head] as SchedTask
    for (const v of dependents.get(u.id) ?? []) {
      if (distance.has(v.id)) continue
      distance.set(v.id, (distance.get(u.id) as number) + 1)
      queue.push(v)
    }
  }
  for (const t of queue) {
    if (reasons.has(t.id)) continue
    const dep = closestBlocked(t, distance)
    const cause = rootCause.get(dep) as string
    rootCause.set(t.id, cause)
    reasons.set(t.id, `dependency ${dep} is blocked (${cause})`)
  }
  return reasons
}

/** The dependency nearest a root cause; the first listed among equals. */
function closestBlocked (t: SchedTask, distance: ReadonlyMap<string, number>): string {
  let best: string | undefined
  for (const dep of t.dependsOn) {
    const d = distance.get(dep)
    if (d !== undefined && (best === undefined || d < (distance.get(best) as number))) best = dep
  }
  return best as string
}

/** Pending, unblocked tasks whose dependencies are all done, in urgency order. */
export function availableTasks<T extends SchedTask> (tasks: readonly T[], opts: AvailableOptions = {}): T[] {
  const status = new Map<string, SchedStatus>()
  for (const t of tasks) if (!status.has(t.id)) status.set(t.id, t.status)
  const blocked = blockedReasons(tasks)
  return tasks
    .filter((t) => t.status === 'pending' &&
      !blocked.has(t.id) &&
      t.dependsOn.every((d) => status.get(d) === 'done') &&
      (opts.role === undefined || t.role === null || t.role === opts.role))
    .sort(byUrgency)
}

/** Plan order: position in the plan, then id. The board lists tasks this way. */
export function planOrder (a: Pick<SchedTask, 'order' | 'id'>, b: Pick<SchedTask, 'order' | 'id'>): number {
  return a.order - b.order || compareIds(a.id, b.id)
}

/** The fields the urgency order reads (also the ready index's key, and the paging cursor's). */
export type UrgencyFields = Pick<SchedTask, 'priority' | 'order' | 'id' | 'downstreamHours'>

/**
 * THE order of available tasks (what an agent takes next): higher priority first; within a
 * priority the longer downstream chain first (critical-path scheduling: the plan cannot end
 * before its longest chain, so that chain should not wait behind short, independent work); then
 * plan order, then id. Everything that orders available tasks (availableTasks, the projection's
 * per-role ready index, the API and its paging cursors, the schedule simulation) uses this one
 * comparator, so a new criterion is added here only.
 */
export function urgency (a: UrgencyFields, b: UrgencyFields): number {
  return b.priority - a.priority || (b.downstreamHours ?? 0) - (a.downstreamHours ?? 0) || planOrder(a, b)
}

const byPlanOrder = planOrder
const byUrgency = urgency

/** Plain code-unit order, the same in every locale (localeCompare is not). */
export function compareIds (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
