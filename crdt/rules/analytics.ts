/**
 * Agent and role analytics, throughput and burn-down, derived from what the document already
 * records: assignments (claimedAt, confirmedAt, endedAt, state) and merge-queue entries (merged or
 * ejected, with updatedAt). Nothing is written for them. Pure functions of those records, so
 * every node with the same heads gives the same figures; a node caches them by heads.
 */
import { percentileOfSorted } from '../../plan/stats.js'

export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS
/** Gaps between the first and last bucket are filled with zeros, up to this many buckets. */
export const MAX_BUCKETS = 2_000
/** Burn-down points returned at most (every k-th done event is kept, and always the last). */
export const MAX_BURNDOWN_POINTS = 1_000

export interface AnTask { id: string, role: string | null, estimatedHours: number, status: string, createdAt: number }
export interface AnAssignment {
  id: string
  taskId: string
  agentId: string
  nodeId: string
  claimedAt: number
  confirmedAt: number | null
  /** Effective state: pending, confirmed, lost, completed, released, expired, failed. */
  state: string
  endedAt: number | null
  reason: string | null
}
export interface AnMergeEntry { taskId: string, assignmentId: string, agentId: string, state: string, updatedAt: number, reason: string | null }
export interface AnAgent { id: string, role: string, nodeId: string }

export interface AnalyticsInput {
  tasks: readonly AnTask[]
  assignments: readonly AnAssignment[]
  mergeQueue: readonly AnMergeEntry[]
  agents: readonly AnAgent[]
}

export interface Percentiles { p50: number | null, p90: number | null }

export interface PerformanceStats {
  tasksDone: number
  /** Assignments that started work (lost and never-confirmed claims are not attempts). */
  attempts: number
  /** Attempts that ended failed or expired. */
  failures: number
  failureRate: number
  /** Estimated hours of the done tasks credited. */
  hoursDone: number
  /** Time between confirmation (or claim) and end, over every ended attempt. */
  busyMs: number
  /** Claim to merged (or completed, without a merge queue), of the done tasks credited. */
  cycleTimeMs: Percentiles
  /** Actual working hours per estimated hour of the done tasks credited; null without any. */
  estimateRatio: number | null
  lastDoneAt: number | null
}

export interface AgentStats extends PerformanceStats { agentId: string, role: string, node: string }
export interface RoleStats extends PerformanceStats { role: string, agents: number }

/** A done task, with who gets the credit and how long it took. */
export interface DoneTask {
  taskId: string
  agentId: string | null
  estimatedHours: number
  doneAt: number
  /** Claim to done. */
  cycleMs: number | null
  /** Confirmation (or claim) to completion: the agent's working time. */
  workMs: number | null
  /** workMs per estimated hour, in hours per hour; null when unknown. */
  ratio: number | null
}

export interface Incident { at: number, kind: 'failed' | 'expired' | 'ejected', taskId: string, agentId: string, reason: string | null }

export interface Analytics {
  done: DoneTask[]
  /** The whole cluster's figures (its estimateRatio scales the forecast). */
  overall: PerformanceStats
  agents: AgentStats[]
  roles: RoleStats[]
  incidents: Incident[]
}

const STARTED = new Set(['confirmed', 'completed', 'released', 'expired', 'failed'])
const FAILED = new Set(['expired', 'failed'])

/**
 * Each done task with its credit: the assignment whose merge-queue entry was merged, else the
 * task's last completed assignment. Done at: the merge, else the completion.
 */
export function doneTasks (input: AnalyticsInput): DoneTask[] {
  const merged = new Map<string, AnMergeEntry>()
  for (const e of input.mergeQueue) {
    if (e.state !== 'merged') continue
    const had = merged.get(e.taskId)
    if (had === undefined || e.updatedAt < had.updatedAt) merged.set(e.taskId, e)
  }
  const byId = new Map(input.assignments.map(a => [a.id, a]))
  const completed = new Map<string, AnAssignment>()
  for (const a of input.assignments) {
    if (a.state !== 'completed') continue
    const had = completed.get(a.taskId)
    if (had === undefined || (a.endedAt ?? 0) > (had.endedAt ?? 0)) completed.set(a.taskId, a)
  }
  const out: DoneTask[] = []
  for (const t of input.tasks) {
    if (t.status !== 'done') continue
    const m = merged.get(t.id)
    const a = (m === undefined ? undefined : byId.get(m.assignmentId)) ?? completed.get(t.id)
    const doneAt = m?.updatedAt ?? a?.endedAt ?? null
    if (doneAt === null) continue
    const workMs = a?.endedAt == null ? null : Math.max(0, a.endedAt - (a.confirmedAt ?? a.claimedAt))
    out.push({
      taskId: t.id,
      agentId: a?.agentId ?? m?.agentId ?? null,
      estimatedHours: t.estimatedHours,
      doneAt,
      cycleMs: a === undefined ? null : Math.max(0, doneAt - a.claimedAt),
      workMs,
      ratio: workMs === null || t.estimatedHours <= 0 ? null : workMs / HOUR_MS / t.estimatedHours
    })
  }
  return out.sort((x, y) => x.doneAt - y.doneAt || (x.taskId < y.taskId ? -1 : 1))
}

interface Acc { done: DoneTask[], attempts: number, failures: number, busyMs: number }

function stats (acc: Acc): PerformanceStats {
  const cycles = acc.done.map(d => d.cycleMs).filter((x): x is number => x !== null).sort((a, b) => a - b)
  const timed = acc.done.filter(d => d.workMs !== null && d.estimatedHours > 0)
  const estHours = timed.reduce((h, d) => h + d.estimatedHours, 0)
  const workHours = timed.reduce((h, d) => h + (d.workMs as number) / HOUR_MS, 0)
  return {
    tasksDone: acc.done.length,
    attempts: acc.attempts,
    failures: acc.failures,
    failureRate: acc.attempts === 0 ? 0 : acc.failures / acc.attempts,
    hoursDone: acc.done.reduce((h, d) => h + d.estimatedHours, 0),
    busyMs: acc.busyMs,
    cycleTimeMs: { p50: percentileOfSorted(cycles, 50), p90: percentileOfSorted(cycles, 90) },
    estimateRatio: estHours === 0 ? null : workHours / estHours,
    lastDoneAt: acc.done.reduce<number | null>((m, d) => (m === null || d.doneAt > m ? d.doneAt : m), null)
  }
}

/** Per agent (every registered agent, and any agent id found in assignments), per role, and incidents. */
export function analyticsOf (input: AnalyticsInput): Analytics {
  const done = doneTasks(input)
  const accs = new Map<string, Acc>()
  const acc = (id: string): Acc => {
    let a = accs.get(id)
    if (a === undefined) accs.set(id, a = { done: [], attempts: 0, failures: 0, busyMs: 0 })
    return a
  }
  for (const a of input.agents) acc(a.id)
  const incidents: Incident[] = []
  for (const a of input.assignments) {
    const x = acc(a.agentId)
    if (!STARTED.has(a.state)) continue
    x.attempts++
    if (FAILED.has(a.state)) {
      x.failures++
      incidents.push({ at: a.endedAt ?? a.claimedAt, kind: a.state as 'failed' | 'expired', taskId: a.taskId, agentId: a.agentId, reason: a.reason })
    }
    if (a.endedAt !== null) x.busyMs += Math.max(0, a.endedAt - (a.confirmedAt ?? a.claimedAt))
  }
  for (const e of input.mergeQueue) {
    if (e.state === 'ejected') incidents.push({ at: e.updatedAt, kind: 'ejected', taskId: e.taskId, agentId: e.agentId, reason: e.reason })
  }
  for (const d of done) if (d.agentId !== null) acc(d.agentId).done.push(d)

  const info = new Map(input.agents.map(a => [a.id, a]))
  // An agent no longer registered is filed under the role of the first task it took.
  const taskRole = new Map(input.tasks.map(t => [t.id, t.role ?? '']))
  const roleOf = new Map<string, string>()
  for (const a of input.assignments) if (!roleOf.has(a.agentId)) roleOf.set(a.agentId, taskRole.get(a.taskId) ?? '')
  const agents: AgentStats[] = [...accs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, x]) => ({ agentId: id, role: info.get(id)?.role ?? roleOf.get(id) ?? '', node: info.get(id)?.nodeId ?? '', ...stats(x) }))

  const byRole = new Map<string, { agents: number, acc: Acc }>()
  for (const [id, x] of accs) {
    const role = info.get(id)?.role ?? roleOf.get(id) ?? ''
    let r = byRole.get(role)
    if (r === undefined) byRole.set(role, r = { agents: 0, acc: { done: [], attempts: 0, failures: 0, busyMs: 0 } })
    r.agents++
    r.acc.done.push(...x.done)
    r.acc.attempts += x.attempts
    r.acc.failures += x.failures
    r.acc.busyMs += x.busyMs
  }
  const roles: RoleStats[] = [...byRole.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([role, r]) => ({ role, agents: r.agents, ...stats(r.acc) }))
  incidents.sort((a, b) => b.at - a.at || (a.taskId < b.taskId ? -1 : 1))
  const overall = stats({ done, attempts: agents.reduce((n, a) => n + a.attempts, 0), failures: agents.reduce((n, a) => n + a.failures, 0), busyMs: agents.reduce((n, a) => n + a.busyMs, 0) })
  return { done, overall, agents, roles, incidents }
}

export type BucketSize = 'hour' | 'day'

export interface ThroughputBucket { start: number, tasks: number, hours: number, ejections: number, failures: number }

/** Tasks and estimated hours done, ejections and failures per UTC hour or day, gaps filled with zeros. */
export function throughputOf (a: Analytics, bucket: BucketSize): ThroughputBucket[] {
  const size = bucket === 'hour' ? HOUR_MS : DAY_MS
  const buckets = new Map<number, ThroughputBucket>()
  const at = (t: number): ThroughputBucket => {
    const start = Math.floor(t / size) * size
    let b = buckets.get(start)
    if (b === undefined) buckets.set(start, b = { start, tasks: 0, hours: 0, ejections: 0, failures: 0 })
    return b
  }
  for (const d of a.done) { const b = at(d.doneAt); b.tasks++; b.hours += d.estimatedHours }
  for (const i of a.incidents) { const b = at(i.at); if (i.kind === 'ejected') b.ejections++; else b.failures++ }
  const starts = [...buckets.keys()].sort((x, y) => x - y)
  const first = starts[0]
  const last = starts[starts.length - 1]
  if (first !== undefined && last !== undefined && (last - first) / size < MAX_BUCKETS) {
    for (let s = first; s <= last; s += size) at(s)
  }
  return [...buckets.values()].sort((x, y) => x.start - y.start)
}

export interface BurndownPoint { at: number, remainingHours: number }

/**
 * Remaining estimated hours after each done task, from the plan's start (the earliest task) with
 * today's total (tasks added or cancelled later shift the whole line, not one point).
 */
export function burndownOf (tasks: readonly AnTask[], done: readonly DoneTask[]): BurndownPoint[] {
  const live = tasks.filter(t => t.status !== 'cancelled')
  if (live.length === 0) return []
  let remaining = live.reduce((h, t) => h + t.estimatedHours, 0)
  let start = Infinity
  for (const t of live) start = Math.min(start, t.createdAt)
  for (const d of done) start = Math.min(start, d.doneAt)
  const points: BurndownPoint[] = [{ at: start, remainingHours: remaining }]
  const step = Math.max(1, Math.ceil(done.length / MAX_BURNDOWN_POINTS))
  done.forEach((d, i) => {
    remaining -= d.estimatedHours
    if ((i + 1) % step === 0 || i === done.length - 1) points.push({ at: d.doneAt, remainingHours: Math.max(0, Math.round(remaining * 1000) / 1000) })
  })
  return points
}
