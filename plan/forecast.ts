import { criticalPath, lowerBoundHours, type RoleLoad } from './critical-path.js'
import type { Random } from './prng.js'
import { percentileOfSorted } from './stats.js'
import { prepareSimulation, type SimAgent, type SimTask } from './simulate.js'

/**
 * When will the plan be done? A pure function of the remaining tasks, the live agents, observed
 * estimate errors, the time (`now`) and a random source, all passed in.
 *
 * The projection is a list-scheduling simulation (plan/simulate.ts) in fleet's own order, with
 * every estimate scaled by the observed estimateRatio (actual hours per estimated hour; 1 before
 * any task is done). The spread comes from repeating it with each task's duration drawn from the
 * observed per-task ratios (a bootstrap of the estimate errors): p50 and p90 of those finishes.
 */

export const DEFAULT_FORECAST_RUNS = 100
const HOUR_MS = 3_600_000

export interface ForecastInit {
  tasks: readonly SimTask[]
  /** Agents that are alive now. */
  agents: readonly SimAgent[]
  /** Cached downstream scores (see downstreamHours), so the simulations need not recompute them. */
  downstream?: ReadonlyMap<string, number>
  /** Actual hours per estimated hour observed so far; null: no data yet (1 is used). */
  estimateRatio: number | null
  /** Per-task observed ratios to sample from; empty: p50 and p90 equal the projection. */
  ratios: readonly number[]
  now: number
  random: Random
  /** Simulations for p50/p90 (default DEFAULT_FORECAST_RUNS). */
  runs?: number
}

export interface Blocker { role: string, tasks: number, hours: number }

export interface Forecast {
  remainingHours: number
  criticalPathHours: number
  criticalPath: string[]
  agentsPerRole: Record<string, number>
  lowerBoundHours: number
  /** Simulated makespan in estimated hours (fleet's ordering, unscaled). */
  makespanHours: number
  /** The scale applied to estimates (observed estimateRatio, or 1). */
  estimateRatio: number
  /** null while a role with work has no agent (the plan cannot finish as things stand). */
  projectedFinishAt: number | null
  p50FinishAt: number | null
  p90FinishAt: number | null
  runs: number
  blockers: Blocker[]
}

/** Estimated hours still to do on a task: all of it unless done, in review or cancelled; in progress, the part not reported done. */
export function remainingOf (t: SimTask): number {
  if (t.status === 'done' || t.status === 'review' || t.status === 'cancelled') return 0
  if (t.status === 'in_progress') return t.estimatedHours * (1 - Math.min(100, Math.max(0, t.progress ?? 0)) / 100)
  return t.estimatedHours
}

export function forecastOf (init: ForecastInit): Forecast {
  const agentsPerRole = new Map<string, number>()
  for (const a of init.agents) agentsPerRole.set(a.role, (agentsPerRole.get(a.role) ?? 0) + 1)
  const loads = new Map<string | null, RoleLoad & { tasks: number }>()
  let remainingHours = 0
  for (const t of init.tasks) {
    const h = remainingOf(t)
    if (h <= 0) continue
    remainingHours += h
    let l = loads.get(t.role)
    if (l === undefined) loads.set(t.role, l = { role: t.role, hours: 0, tasks: 0 })
    l.hours += h
    l.tasks++
  }
  const blockers: Blocker[] = []
  for (const l of loads.values()) {
    const stuck = l.role === null ? init.agents.length === 0 : (agentsPerRole.get(l.role) ?? 0) === 0
    if (stuck) blockers.push({ role: l.role ?? '(any)', tasks: l.tasks, hours: l.hours })
  }
  blockers.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0))
  const cp = criticalPath(init.tasks, remainingOf)
  const lowerBound = lowerBoundHours(cp.hours, [...loads.values()], agentsPerRole)
  const scale = init.estimateRatio ?? 1
  const sim = prepareSimulation({ tasks: init.tasks, agents: init.agents, ordering: 'fleet', ...(init.downstream === undefined ? {} : { downstream: init.downstream }) })
  const point = sim.run()
  const runs = blockers.length > 0 || init.ratios.length === 0 ? 0 : init.runs ?? DEFAULT_FORECAST_RUNS
  const finishes: number[] = []
  for (let r = 0; r < runs; r++) {
    const ratios = init.ratios
    const sampled = sim.run((_t, h) => h * (ratios[Math.floor(init.random() * ratios.length)] as number))
    finishes.push(init.now + sampled.makespan * HOUR_MS)
  }
  finishes.sort((a, b) => a - b)
  const projected = blockers.length > 0 ? null : init.now + point.makespan * scale * HOUR_MS
  const pick = (p: number): number | null => projected === null ? null : percentileOfSorted(finishes, p) ?? projected
  return {
    remainingHours,
    criticalPathHours: cp.hours,
    criticalPath: cp.path,
    agentsPerRole: Object.fromEntries([...agentsPerRole.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
    lowerBoundHours: lowerBound,
    makespanHours: point.makespan,
    estimateRatio: scale,
    projectedFinishAt: projected,
    p50FinishAt: pick(50),
    p90FinishAt: pick(90),
    runs,
    blockers
  }
}
