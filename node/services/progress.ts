import { read } from '../../crdt/schema.js'
import type { DocStore } from '../../crdt/doc-store.js'
import type { ProjectionCache } from '../../crdt/projection.js'
import { TASK_STATUSES, type TaskStatus } from '../../crdt/schema.js'

export interface EpicProgress {
  epic: string
  title: string
  tasks: number
  hours: number
  doneHours: number
  percent: number
}

export interface Overview {
  totalTasks: number
  totalEstimatedHours: number
  byStatus: Record<TaskStatus, number>
  byEpic: EpicProgress[]
  /** Hours-weighted: done hours over all hours (cancelled tasks count for neither). */
  percentComplete: number
}

const round1 = (x: number): number => Math.round(x * 10) / 10

/** Pure: the hours-weighted overview of a list of tasks. */
export function overviewOf (tasks: ReadonlyArray<{ epic: string | null, status: TaskStatus, estimatedHours: number }>, epics: ReadonlyArray<{ id: string, title: string, order: number }>): Overview {
  const byStatus = Object.fromEntries(TASK_STATUSES.map(s => [s, 0])) as Record<TaskStatus, number>
  const perEpic = new Map<string, EpicProgress>()
  for (const e of [...epics].sort((a, b) => a.order - b.order)) perEpic.set(e.id, { epic: e.id, title: e.title, tasks: 0, hours: 0, doneHours: 0, percent: 0 })
  let hours = 0
  let doneHours = 0
  let total = 0
  for (const t of tasks) {
    byStatus[t.status]++
    if (t.status === 'cancelled') continue
    total++
    hours += t.estimatedHours
    const done = t.status === 'done' ? t.estimatedHours : 0
    doneHours += done
    const key = t.epic ?? '(none)'
    let e = perEpic.get(key)
    if (e === undefined) perEpic.set(key, e = { epic: key, title: key, tasks: 0, hours: 0, doneHours: 0, percent: 0 })
    e.tasks++
    e.hours += t.estimatedHours
    e.doneHours += done
  }
  const byEpic = [...perEpic.values()].filter(e => e.tasks > 0).map(e => ({ ...e, hours: round1(e.hours), doneHours: round1(e.doneHours), percent: e.hours === 0 ? 0 : round1(100 * e.doneHours / e.hours) }))
  return { totalTasks: total, totalEstimatedHours: round1(hours), byStatus, byEpic, percentComplete: hours === 0 ? 0 : round1(100 * doneHours / hours) }
}

export interface ProgressServiceInit {
  store: DocStore
  projection: ProjectionCache
}

export class ProgressService {
  constructor (private readonly init: ProgressServiceInit) {}

  overview (): Overview {
    const epics = Object.values(this.init.store.doc.epics).map(e => ({ id: read(e.id), title: read(e.title), order: e.order }))
    return overviewOf(this.init.projection.get().tasks, epics)
  }
}
