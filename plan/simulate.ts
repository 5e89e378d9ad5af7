import { urgency, type SchedTask } from './availability.js'
import { downstreamHours, type DagTask } from './critical-path.js'

/**
 * List scheduling of the remaining plan: a pure simulation of agents taking available tasks the
 * way fleet's agents do (an idle agent takes the first available task of its role, or of no role,
 * in a given order), with durations in estimated hours (scaled or sampled by the caller). Time is
 * simulated, never read from a clock, and randomness comes only through `duration`, so the same
 * input gives the same schedule on every node. O((tasks + edges) log tasks + events x agents).
 */

export type SimStatus = 'pending' | 'claimed' | 'in_progress' | 'review' | 'done' | 'failed' | 'cancelled' | 'blocked'

export interface SimTask extends DagTask {
  status: SimStatus
  priority: number
  role: string | null
  /** Percent done of a task in progress (default 0). */
  progress?: number | null
  /** The agent working on it, for a claimed or in-progress task. */
  assignee?: string | null
}

export interface SimAgent {
  id: string
  role: string
}

/** 'fleet': priority, then the longest downstream chain, then plan order. 'plan': priority, then plan order. */
export type SimOrdering = 'fleet' | 'plan'

export interface SimulateInit {
  tasks: readonly SimTask[]
  agents: readonly SimAgent[]
  /** Default 'fleet'. */
  ordering?: SimOrdering
  /** Downstream scores for 'fleet' (default: computed from the tasks; pass them when cached). */
  downstream?: ReadonlyMap<string, number>
  /**
   * How long a task takes, given its remaining estimated hours (default: exactly that). Called once
   * per task, in start order, so a seeded sampler gives reproducible runs.
   */
  duration?: (task: SimTask, hours: number) => number
}

export interface SimResult {
  /** When the last schedulable task ends, in the units of `duration` (estimated hours by default). */
  makespan: number
  /** Task ids in the order agents started them. */
  started: string[]
  /** Tasks that never start: their role has no agent, or they wait on such a task or on a cancelled one. Failed and blocked tasks count as work to redo. */
  unschedulable: string[]
}

/** A binary min-heap by a comparator (the simulation's ready lists and event queue). */
class Heap<T> {
  private readonly items: T[] = []
  constructor (private readonly less: (a: T, b: T) => boolean) {}
  get size (): number { return this.items.length }
  peek (): T | undefined { return this.items[0] }
  push (x: T): void {
    const a = this.items
    a.push(x)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.less(a[i] as T, a[p] as T)) break
      ;[a[i], a[p]] = [a[p] as T, a[i] as T]
      i = p
    }
  }

  pop (): T | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.less(a[l] as T, a[m] as T)) m = l
        if (r < a.length && this.less(a[r] as T, a[m] as T)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m] as T, a[i] as T]
        i = m
      }
    }
    return top
  }
}

const NO_ROLE = '\u0000'
/** Finished already, or finishes without an agent (review: waiting for the merge queue only). */
const FINISHED: ReadonlySet<SimStatus> = new Set(['done', 'review'])

interface Running { end: number, task: number, agent: number }

export function simulate (init: SimulateInit): SimResult {
  return prepareSimulation(init).run(init.duration)
}

/** A simulation set up once (graph, order, crew) to run many times with different durations. */
export interface PreparedSimulation {
  run: (duration?: (task: SimTask, hours: number) => number) => SimResult
}

/**
 * Per task (by index): how many dependencies are still to finish, who depends on it, and whether
 * it can never start (a cancelled dependency never finishes: fleet blocks its dependents).
 */
function dependencyGraph (tasks: readonly SimTask[], index: ReadonlyMap<string, number>, cancelled: ReadonlySet<string>): { waiting0: Int32Array, dependents: number[][], never: Set<number> } {
  const waiting0 = new Int32Array(tasks.length)
  const dependents: number[][] = tasks.map(() => [])
  const never = new Set<number>()
  tasks.forEach((t, i) => {
    for (const d of new Set(t.dependsOn)) {
      if (cancelled.has(d)) { never.add(i); continue }
      const j = index.get(d)
      if (j === undefined || j === i || FINISHED.has((tasks[j] as SimTask).status)) continue
      ;(dependents[j] as number[]).push(i)
      waiting0[i] = (waiting0[i] as number) + 1
    }
  })
  return { waiting0, dependents, never }
}

/**
 * Long because `run` is the event loop of the simulation, closing over the arrays prepared here
 * once so that each of a forecast's many runs starts from them without rebuilding the graph.
 */
export function prepareSimulation (init: Omit<SimulateInit, 'duration'>): PreparedSimulation {
  const tasks = init.tasks.filter(t => t.status !== 'cancelled')
  const ordering = init.ordering ?? 'fleet'
  const downstream = ordering === 'fleet' ? init.downstream ?? downstreamHours(tasks) : new Map<string, number>()
  const sched: SchedTask[] = tasks.map(t => ({ id: t.id, status: 'pending', dependsOn: t.dependsOn, priority: t.priority, order: t.order, role: t.role, downstreamHours: downstream.get(t.id) ?? 0 }))
  const index = new Map<string, number>()
  tasks.forEach((t, i) => { if (!index.has(t.id)) index.set(t.id, i) })
  const cancelled = new Set(init.tasks.filter(t => t.status === 'cancelled').map(t => t.id))
  const { waiting0, dependents, never } = dependencyGraph(tasks, index, cancelled)
  const agents = [...init.agents].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const agentIndex = new Map(agents.map((a, i) => [a.id, i]))
  const byUrgency = (a: number, b: number): boolean => urgency(sched[a] as SchedTask, sched[b] as SchedTask) < 0

  return {
    run: (duration = (_t: SimTask, h: number) => h) => {
    const waiting = waiting0.slice()
    const ready = new Map<string, Heap<number>>()
    const readyFor = (role: string | null): Heap<number> => {
      const key = role ?? NO_ROLE
      let h = ready.get(key)
      if (h === undefined) ready.set(key, h = new Heap<number>(byUrgency))
      return h
    }
    const events = new Heap<Running>((a, b) => a.end < b.end || (a.end === b.end && (tasks[a.task] as SimTask).order < (tasks[b.task] as SimTask).order))
    const idle = new Array<boolean>(agents.length).fill(true)
    const started: string[] = []
    const done = new Array<boolean>(tasks.length).fill(false)
    let now = 0
    let makespan = 0

    const start = (i: number, agent: number, hours: number): void => {
      const t = tasks[i] as SimTask
      started.push(t.id)
      idle[agent] = false
      events.push({ end: now + Math.max(0, duration(t, hours)), task: i, agent })
    }
    const finish = (i: number): void => {
      done[i] = true
      for (const j of dependents[i] as number[]) {
        waiting[j] = (waiting[j] as number) - 1
        if (waiting[j] === 0 && !never.has(j)) readyFor((tasks[j] as SimTask).role).push(j)
      }
    }

    // Work already under way keeps its agent; finished work releases its dependents at time 0.
    const pinned = new Set<number>()
    tasks.forEach((t, i) => {
      const a = t.assignee == null ? undefined : agentIndex.get(t.assignee)
      if ((t.status === 'claimed' || t.status === 'in_progress') && a !== undefined && idle[a] === true) {
        pinned.add(i)
        start(i, a, t.estimatedHours * (1 - Math.min(100, Math.max(0, t.progress ?? 0)) / 100))
      }
    })
    tasks.forEach((t, i) => { if (FINISHED.has(t.status)) finish(i) })
    tasks.forEach((t, i) => {
      if (!FINISHED.has(t.status) && !pinned.has(i) && waiting[i] === 0 && !never.has(i)) readyFor(t.role).push(i)
    })

    const dispatch = (): void => {
      for (let a = 0; a < agents.length; a++) {
        if (idle[a] !== true) continue
        const own = ready.get((agents[a] as SimAgent).role)
        const any = ready.get(NO_ROLE)
        const x = own?.peek()
        const y = any?.peek()
        let from: Heap<number> | undefined
        if (x !== undefined && (y === undefined || urgency(sched[x] as SchedTask, sched[y] as SchedTask) <= 0)) from = own
        else if (y !== undefined) from = any
        const i = from?.pop()
        if (i !== undefined) start(i, a, (tasks[i] as SimTask).estimatedHours)
      }
    }

    dispatch()
    while (events.size > 0) {
      now = (events.peek() as Running).end
      // Everything that ends at this instant ends before anyone picks again.
      while (events.size > 0 && (events.peek() as Running).end === now) {
        const e = events.pop() as Running
        idle[e.agent] = true
        finish(e.task)
      }
      makespan = now
      dispatch()
    }
    const unschedulable = tasks.filter((t, i) => !done[i] && !FINISHED.has(t.status)).map(t => t.id)
    return { makespan, started, unschedulable }
    }
  }
}
