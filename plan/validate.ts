import type { PlanProblem } from './errors.js'
import { cycleThrough, stronglyConnected } from './graph.js'
import { locateProblems, type RawProblem } from './locate.js'
import type { Plan } from './schema.js'
import { didYouMean } from './suggest.js'

/**
 * Checks what a schema cannot: ids are unique, references resolve, dependencies form a DAG.
 * Reports every problem, never just the first. Used on a parsed Plan, and also on the raw object
 * of a plan that failed its schema (so those problems are reported in the same round): hence the
 * defensive reads of every field.
 */
export function checkPlan (plan: unknown): RawProblem[] {
  const problems: RawProblem[] = []
  const root = asRecord(plan)
  const epics = Array.isArray(root?.epics) ? root.epics as unknown[] : []
  const tasks = Array.isArray(root?.tasks) ? root.tasks as unknown[] : []

  const epicIds = firstIndexById('epics', epics, 'epic', problems)
  const taskIds = firstIndexById('tasks', tasks, 'task', problems)
  const knownEpics = [...epicIds.keys()]
  const knownTasks = [...taskIds.keys()]

  tasks.forEach((raw, i) => {
    const t = asRecord(raw)
    if (t === undefined) return
    if (typeof t.epic === 'string' && Array.isArray(root?.epics) && !epicIds.has(t.epic)) {
      problems.push({ path: ['tasks', i, 'epic'], message: `unknown epic "${t.epic}"${didYouMean(t.epic, knownEpics)}` })
    }
    if (typeof t.estimatedHours === 'number' && !(t.estimatedHours > 0)) {
      problems.push({ path: ['tasks', i, 'estimatedHours'], message: 'must be greater than 0' })
    }
    if (!Array.isArray(t.dependsOn)) return
    const seen = new Set<string>()
    t.dependsOn.forEach((dep: unknown, k) => {
      if (typeof dep !== 'string') return
      const path = ['tasks', i, 'dependsOn', k]
      if (dep === t.id) problems.push({ path, message: `task ${dep} depends on itself` })
      else if (!taskIds.has(dep)) problems.push({ path, message: `unknown task "${dep}"${didYouMean(dep, knownTasks)}` })
      else if (seen.has(dep)) problems.push({ path, message: `lists ${dep} more than once` })
      seen.add(dep)
    })
  })

  problems.push(...cycleProblems(tasks, taskIds))
  return problems
}

/** validatePlan for callers holding a Plan (e.g. one built in code): the semantic problems, by path. */
export function validatePlan (plan: Plan): PlanProblem[] {
  return locateProblems([checkPlan(plan)], { source: plan })
}

/** Id -> index of its first definition; later definitions are reported as duplicates. */
function firstIndexById (collection: 'epics' | 'tasks', items: unknown[], noun: string, problems: RawProblem[]): Map<string, number> {
  const first = new Map<string, number>()
  items.forEach((raw, i) => {
    const id = asRecord(raw)?.id
    if (typeof id !== 'string') return
    const earlier = first.get(id)
    if (earlier === undefined) first.set(id, i)
    else problems.push({ path: [collection, i, 'id'], message: `duplicate ${noun} id ${id}`, related: [collection, earlier, 'id'] })
  })
  return first
}

/** One problem per dependency cycle (per strongly connected component), naming the cycle. */
function cycleProblems (tasks: unknown[], taskIds: Map<string, number>): RawProblem[] {
  const successors: number[][] = tasks.map((raw, i) => {
    const t = asRecord(raw)
    if (t === undefined || taskIds.get(t.id as string) !== i || !Array.isArray(t.dependsOn)) return []
    const out: number[] = []
    for (const dep of t.dependsOn as unknown[]) {
      const j = typeof dep === 'string' ? taskIds.get(dep) : undefined
      if (j !== undefined && j !== i && !out.includes(j)) out.push(j)
    }
    return out
  })
  const problems: RawProblem[] = []
  const components = stronglyConnected(tasks.length, successors)
    .filter((c) => c.length > 1)
    .map((c) => c.sort((a, b) => a - b))
    .sort((a, b) => (a[0] as number) - (b[0] as number))
  for (const component of components) {
    const start = component[0] as number
    const cycle = cycleThrough(start, new Set(component), successors)
    if (cycle === undefined) continue
    const ids = cycle.map((i) => asRecord(tasks[i])?.id as string)
    const next = ids[1] as string
    const deps = asRecord(tasks[start])?.dependsOn as unknown[]
    problems.push({ path: ['tasks', start, 'dependsOn', deps.indexOf(next)], message: `dependency cycle: ${ids.join(' -> ')}` })
  }
  return problems
}

function asRecord (v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined
}
