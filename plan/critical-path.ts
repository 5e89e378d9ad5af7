/**
 * Longest chains through the task graph, by hours. Pure functions of the tasks given: the same
 * answer on every node, linear in tasks plus dependency edges.
 *
 * A task's chain is its own weight plus the longest chain among the tasks that depend on it. In a
 * DAG the longest chain from any task is a lower bound on the time left until the plan ends once
 * that task starts (nothing on the chain can overlap), which is why it orders available work
 * (urgency) and why the largest one bounds the forecast (lowerBoundHours).
 */

export interface DagTask {
  id: string
  estimatedHours: number
  dependsOn: readonly string[]
  /** Position in the plan: the tie-break among equal chains. */
  order: number
}

interface Graph {
  tasks: readonly DagTask[]
  /** Indices of the tasks that depend on each task (known ids only, each once). */
  dependents: number[][]
  /** Reverse topological order: every task comes after all of its dependents. */
  reverseTopo: number[]
}

function buildGraph (tasks: readonly DagTask[]): Graph {
  const index = new Map<string, number>()
  tasks.forEach((t, i) => { if (!index.has(t.id)) index.set(t.id, i) })
  const dependents: number[][] = tasks.map(() => [])
  const indegree = new Array<number>(tasks.length).fill(0)
  tasks.forEach((t, i) => {
    for (const d of new Set(t.dependsOn)) {
      const j = index.get(d)
      if (j === undefined || j === i) continue
      ;(dependents[j] as number[]).push(i)
      indegree[i] = (indegree[i] as number) + 1
    }
  })
  // Kahn's algorithm; tasks on a cycle (possible only through concurrent edits: validation refuses
  // them) are never reached, and are appended so they still get a score from what was computed.
  const topo: number[] = []
  for (let i = 0; i < tasks.length; i++) if (indegree[i] === 0) topo.push(i)
  for (let head = 0; head < topo.length; head++) {
    for (const j of dependents[topo[head] as number] as number[]) {
      indegree[j] = (indegree[j] as number) - 1
      if (indegree[j] === 0) topo.push(j)
    }
  }
  if (topo.length < tasks.length) {
    const seen = new Set(topo)
    for (let i = 0; i < tasks.length; i++) if (!seen.has(i)) topo.push(i)
  }
  return { tasks, dependents, reverseTopo: topo.reverse() }
}

/**
 * The longest chain starting at each task, weighted by `weight` (default: estimated hours); tasks
 * with `include` false weigh nothing and end no chain of their own but still pass chains through
 * (a done task between two pending ones cannot be on a remaining chain anyway: its dependents'
 * dependencies are met).
 */
export function longestChains<T extends DagTask> (tasks: readonly T[], weight: (t: T) => number = t => t.estimatedHours): Map<string, number> {
  const g = buildGraph(tasks)
  const score = new Array<number>(tasks.length).fill(0)
  for (const i of g.reverseTopo) {
    let best = 0
    for (const j of g.dependents[i] as number[]) best = Math.max(best, score[j] as number)
    score[i] = Math.max(0, weight(tasks[i] as T)) + best
  }
  const out = new Map<string, number>()
  tasks.forEach((t, i) => { if (!out.has(t.id)) out.set(t.id, score[i] as number) })
  return out
}

/**
 * Hours of the longest chain of estimated work each task starts, itself included. It depends only
 * on the graph (hours and dependencies), so a node computes it when the plan or a task's spec
 * changes, not per claim; for a task that is available, all its dependents are still to do, so
 * the figure is exactly the remaining chain behind it.
 */
export function downstreamHours (tasks: readonly DagTask[]): Map<string, number> {
  return longestChains(tasks)
}

export interface CriticalPath {
  hours: number
  /** Task ids from the first to the last task of the chain. */
  path: string[]
}

/**
 * The longest chain of remaining work: `remaining(t)` hours for each task (0 for work that is done
 * or needs nobody). Ties go to the earlier task in plan order, so every node names the same path.
 */
export function criticalPath<T extends DagTask> (tasks: readonly T[], remaining: (t: T) => number): CriticalPath {
  const g = buildGraph(tasks)
  const w = tasks.map(t => Math.max(0, remaining(t)))
  const score = new Array<number>(tasks.length).fill(0)
  const next = new Array<number>(tasks.length).fill(-1)
  const better = (a: number, b: number): boolean => (score[a] as number) > (score[b] as number) ||
    (score[a] === score[b] && ((tasks[a] as DagTask).order < (tasks[b] as DagTask).order ||
      ((tasks[a] as DagTask).order === (tasks[b] as DagTask).order && (tasks[a] as DagTask).id < (tasks[b] as DagTask).id)))
  for (const i of g.reverseTopo) {
    let best = -1
    for (const j of g.dependents[i] as number[]) {
      if ((score[j] as number) > 0 && (best === -1 || better(j, best))) best = j
    }
    next[i] = best
    score[i] = (w[i] as number) + (best === -1 ? 0 : score[best] as number)
  }
  let start = -1
  for (let i = 0; i < tasks.length; i++) if ((w[i] as number) > 0 && (start === -1 || better(i, start))) start = i
  if (start === -1) return { hours: 0, path: [] }
  const path: string[] = []
  const seen = new Set<number>()
  for (let i = start; i !== -1 && !seen.has(i); i = next[i] as number) {
    seen.add(i)
    if ((w[i] as number) > 0) path.push((tasks[i] as DagTask).id)
  }
  return { hours: score[start] as number, path }
}

export interface RoleLoad {
  /** Remaining hours of tasks for this role (null: any role). */
  role: string | null
  hours: number
}

/**
 * No schedule can end sooner than the longest remaining chain, nor sooner than any role's
 * remaining hours shared perfectly among its agents, nor the whole remaining work shared among
 * all agents (tasks without a role may go to anyone). Roles without agents are left out here (they
 * are blockers: see the forecast), so the bound covers the work that can be done.
 */
export function lowerBoundHours (criticalPathHours: number, loads: readonly RoleLoad[], agentsPerRole: ReadonlyMap<string, number>): number {
  let bound = criticalPathHours
  let total = 0
  let agents = 0
  for (const n of agentsPerRole.values()) agents += n
  for (const l of loads) {
    if (l.role === null) { total += l.hours; continue }
    const n = agentsPerRole.get(l.role) ?? 0
    if (n === 0) continue
    total += l.hours
    bound = Math.max(bound, l.hours / n)
  }
  if (agents > 0) bound = Math.max(bound, total / agents)
  return bound
}
