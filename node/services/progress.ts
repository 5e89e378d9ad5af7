import { randomUUID } from 'node:crypto'
import { read, str } from '../../crdt/schema.js'
import type { DocStore } from '../../crdt/doc-store.js'
import { own } from '../../crdt/collections.js'
import { NotFoundError } from '../http/errors.js'
import { heldBy, type ProjectionCache } from '../../crdt/projection.js'
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
  nodeId: string
}

export class ProgressService {
  constructor (private readonly init: ProgressServiceInit) {}

  overview (): Overview {
    const epics = Object.values(this.init.store.doc.epics).map(e => ({ id: read(e.id), title: read(e.title), order: e.order }))
    return overviewOf(this.init.projection.get().tasks, epics)
  }

  /** A point-in-time summary kept in the document (small: one JSON value per snapshot). */
  async snapshot (): Promise<SnapshotView> {
    const overview = this.overview()
    const id = randomUUID()
    const takenAt = Date.now()
    await this.init.store.change((d) => {
      d.snapshots[id] = { id: str(id), takenAt, nodeId: str(this.init.nodeId), summary: str(JSON.stringify(overview)) }
    }, 'progress snapshot')
    return { id, takenAt, nodeId: this.init.nodeId, overview }
  }

  snapshots (): SnapshotView[] {
    return Object.values(this.init.store.doc.snapshots)
      .map(s => ({ id: read(s.id), takenAt: s.takenAt, nodeId: read(s.nodeId), overview: JSON.parse(read(s.summary)) as Overview }))
      .sort((a, b) => a.takenAt - b.takenAt)
  }

  agent (agentId: string): AgentProgress {
    if (own(this.init.store.doc.agents, agentId) === undefined) throw new NotFoundError(`agent ${agentId} is not registered`, { agentId })
    const view = this.init.projection.get()
    const mine = [...view.assignments.values()].filter(a => a.agentId === agentId)
    const count = (s: string): number => mine.filter(a => a.state === s).length
    const current = heldBy(view, agentId)
    const hoursDone = mine.filter(a => a.state === 'completed' && view.taskById.get(a.taskId)?.status === 'done')
      .reduce((h, a) => h + (view.taskById.get(a.taskId)?.estimatedHours ?? 0), 0)
    return {
      agentId,
      assignments: mine.length,
      completed: count('completed'),
      failed: count('failed'),
      expired: count('expired'),
      lost: count('lost'),
      hoursDone,
      current: current === undefined ? null : { assignmentId: current.id, taskId: current.taskId, progress: current.progress, state: current.state }
    }
  }
}

export interface SnapshotView {
  id: string
  takenAt: number
  nodeId: string
  overview: Overview
}

export interface AgentProgress {
  agentId: string
  assignments: number
  completed: number
  failed: number
  expired: number
  lost: number
  hoursDone: number
  current: { assignmentId: string, taskId: string, progress: number, state: string } | null
}
