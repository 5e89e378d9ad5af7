import { randomUUID } from 'node:crypto'
import { addSnapshot } from '../../crdt/mutations/records.js'
import { read } from '../../crdt/schema.js'
import type { DocStore } from '../../crdt/doc-store.js'
import { own } from '../../crdt/collections.js'
import { NotFoundError } from '../../crdt/errors.js'
import { heldBy, type ProjectionCache } from '../../crdt/projection.js'
import type { TaskStatus } from '../../crdt/schema.js'
import { countAll, NO_EPIC, type CountedTask, type TaskCounts } from '../../crdt/task-counts.js'

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

/**
 * Pure: the hours-weighted overview from task counts (kept in place by the projection, so this is
 * O(epics)). Epics of the plan come in plan order, then epic ids no epic record names (sorted),
 * then tasks without an epic.
 */
export function overviewFromCounts (c: TaskCounts, epics: ReadonlyArray<{ id: string, title: string, order: number }>): Overview {
  const byEpic: EpicProgress[] = []
  const entry = (id: string, title: string): void => {
    const e = c.byEpic.get(id)
    if (e === undefined || e.tasks === 0) return
    const hours = e.microHours / 1e6
    const doneHours = e.microDoneHours / 1e6
    byEpic.push({ epic: id, title, tasks: e.tasks, hours: round1(hours), doneHours: round1(doneHours), percent: hours === 0 ? 0 : round1(100 * doneHours / hours) })
  }
  const known = new Set<string>()
  for (const e of [...epics].sort((a, b) => a.order - b.order)) {
    if (known.has(e.id)) continue
    known.add(e.id)
    entry(e.id, e.title)
  }
  const others = [...c.byEpic.keys()].filter(k => !known.has(k) && k !== NO_EPIC).sort()
  for (const k of others) entry(k, k)
  if (!known.has(NO_EPIC)) entry(NO_EPIC, NO_EPIC)
  const hours = c.microHours / 1e6
  const doneHours = c.microDoneHours / 1e6
  return { totalTasks: c.tasks, totalEstimatedHours: round1(hours), byStatus: { ...c.byStatus }, byEpic, percentComplete: hours === 0 ? 0 : round1(100 * doneHours / hours) }
}

/** Pure: the overview of a list of tasks (a one-off; the node reads the projection's counts). */
export function overviewOf (tasks: Iterable<CountedTask>, epics: ReadonlyArray<{ id: string, title: string, order: number }>): Overview {
  return overviewFromCounts(countAll(tasks), epics)
}

export interface ProgressServiceInit {
  store: DocStore
  projection: ProjectionCache
  nodeId: string
  /** The clock (epoch ms) snapshots are stamped with; default Date.now. */
  now?: () => number
}

export class ProgressService {
  private readonly now: () => number

  constructor (private readonly init: ProgressServiceInit) {
    this.now = init.now ?? Date.now
  }

  overview (): Overview {
    const epics = Object.values(this.init.store.doc.epics).map(e => ({ id: read(e.id), title: read(e.title), order: e.order }))
    return overviewFromCounts(this.init.projection.get().tasks.counts, epics)
  }

  /** A point-in-time summary kept in the document (small: one JSON value per snapshot). */
  async snapshot (): Promise<SnapshotView> {
    const overview = this.overview()
    const id = randomUUID()
    const takenAt = this.now()
    const snapshot = { id, nodeId: this.init.nodeId, summary: JSON.stringify(overview) }
    await this.init.store.change((d) => { addSnapshot(d, snapshot, takenAt) }, 'progress snapshot')
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
    const mine = view.assignmentIndex.forAgent(agentId)
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
