import { TASK_STATUSES, type TaskStatus } from './schema.js'

/**
 * Task counts kept by adding and removing one task at a time, so the progress overview and the
 * tasks-by-status metric cost O(epics) to read, not O(tasks). Hours are summed as integer
 * micro-hours: float sums depend on the order of additions, integer sums do not, so counts kept
 * incrementally equal counts taken over the whole list.
 */

export interface CountedTask {
  epic: string | null
  status: TaskStatus
  estimatedHours: number
}

export interface EpicCounts {
  tasks: number
  microHours: number
  microDoneHours: number
}

export interface TaskCounts {
  /** Every task, cancelled ones included. */
  byStatus: Record<TaskStatus, number>
  /** Not cancelled. */
  tasks: number
  microHours: number
  microDoneHours: number
  /** Not cancelled, by epic id ('(none)' for tasks without an epic). */
  byEpic: Map<string, EpicCounts>
}

export const NO_EPIC = '(none)'

export function emptyCounts (): TaskCounts {
  return { byStatus: Object.fromEntries(TASK_STATUSES.map(s => [s, 0])) as Record<TaskStatus, number>, tasks: 0, microHours: 0, microDoneHours: 0, byEpic: new Map() }
}

export function toMicro (hours: number): number {
  return Math.round(hours * 1e6)
}

/** Adds (sign 1) or removes (sign -1) one task's contribution. */
export function countTask (c: TaskCounts, t: CountedTask, sign: 1 | -1): void {
  c.byStatus[t.status] += sign
  if (t.status === 'cancelled') return
  const micro = toMicro(t.estimatedHours)
  const done = t.status === 'done' ? micro : 0
  c.tasks += sign
  c.microHours += sign * micro
  c.microDoneHours += sign * done
  const key = t.epic ?? NO_EPIC
  let e = c.byEpic.get(key)
  if (e === undefined) c.byEpic.set(key, e = { tasks: 0, microHours: 0, microDoneHours: 0 })
  e.tasks += sign
  e.microHours += sign * micro
  e.microDoneHours += sign * done
  if (e.tasks === 0) c.byEpic.delete(key)
}

export function countAll (tasks: Iterable<CountedTask>): TaskCounts {
  const c = emptyCounts()
  for (const t of tasks) countTask(c, t, 1)
  return c
}
