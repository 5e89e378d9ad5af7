import { AgentSpecError, agentsForRoles, parseAgentSpecs, type AgentSpec } from '../agents/spec.js'
import { criticalPath, downstreamHours, lowerBoundHours, remainingOf, simulate, type SimTask } from '../../plan/index.js'
import { PlanValidationError, formatProblem } from '../../plan/errors.js'
import { readPlanFile } from '../../plan/load.js'
import type { Plan } from '../../plan/schema.js'
import { parseCommandArgs } from './args.js'
import { CliError, EXIT_FAILURE } from './errors.js'
import { hours } from './format.js'

export const SIMULATE_USAGE = `usage: fleet plan simulate FILE [--agents A:role,B:role,...] [--json]
  Simulates agents working through the plan (list scheduling, every task taking its estimate) and
  prints the makespan in estimated hours with fleet's ordering (priority, longest downstream chain,
  plan order) and with plain plan order (priority, plan order), next to the lower bound.
  --agents LIST   the crew (default: one agent per role of the plan, A, B, ... like fleet demo)
  --json          print JSON`

export interface SimulationReport {
  plan: string
  tasks: number
  hours: number
  agents: string[]
  criticalPathHours: number
  criticalPath: string[]
  lowerBoundHours: number
  fleetOrderHours: number
  planOrderHours: number
  /** Tasks no agent of the crew can take (their role has no agent), and what waits on them; the other figures leave them out. */
  unschedulable: string[]
  simulatedMs: number
}

/** Pure: the figures `fleet plan simulate` prints, for a parsed plan and a crew. */
export function simulatePlan (plan: Plan, crew: readonly AgentSpec[]): SimulationReport {
  const started = performance.now()
  const tasks: SimTask[] = plan.tasks.map((t, i) => ({ id: t.id, estimatedHours: t.estimatedHours, dependsOn: t.dependsOn, order: i, priority: t.priority, role: t.role, status: 'pending' }))
  const agents = crew.map(a => ({ id: a.name, role: a.role }))
  const downstream = downstreamHours(tasks)
  const fleet = simulate({ tasks, agents, ordering: 'fleet', downstream })
  const plain = simulate({ tasks, agents, ordering: 'plan' })
  // The bound covers what the crew can do: tasks nobody can take are reported apart.
  const stuck = new Set(fleet.unschedulable)
  const doable = tasks.filter(t => !stuck.has(t.id))
  const cp = criticalPath(doable, remainingOf)
  const perRole = new Map<string, number>()
  for (const a of agents) perRole.set(a.role, (perRole.get(a.role) ?? 0) + 1)
  const loads = new Map<string | null, number>()
  for (const t of doable) loads.set(t.role, (loads.get(t.role) ?? 0) + t.estimatedHours)
  return {
    plan: plan.id,
    tasks: tasks.length,
    hours: tasks.reduce((h, t) => h + t.estimatedHours, 0),
    agents: crew.map(a => `${a.name}:${a.role}`),
    criticalPathHours: cp.hours,
    criticalPath: cp.path,
    lowerBoundHours: lowerBoundHours(cp.hours, [...loads.entries()].map(([role, h]) => ({ role, hours: h })), perRole),
    fleetOrderHours: fleet.makespan,
    planOrderHours: plain.makespan,
    unschedulable: fleet.unschedulable,
    simulatedMs: performance.now() - started
  }
}

export function renderSimulation (r: SimulationReport): string {
  const pct = (x: number): string => r.lowerBoundHours > 0 ? ` (${(100 * (x / r.lowerBoundHours - 1)).toFixed(1)}% over the bound)` : ''
  const shownPath = r.criticalPath.length > 12 ? [...r.criticalPath.slice(0, 5), `... ${r.criticalPath.length - 10} more ...`, ...r.criticalPath.slice(-5)] : r.criticalPath
  const lines = [
    `plan ${r.plan}: ${r.tasks} tasks, ${hours(r.hours)}; ${r.agents.length} agents (${r.agents.length > 12 ? `${r.agents.slice(0, 12).join(' ')} ...` : r.agents.join(' ')})`,
    `critical path         ${hours(r.criticalPathHours)}  ${shownPath.join(' -> ')}`,
    `lower bound           ${hours(r.lowerBoundHours)}  (critical path, each role's hours over its agents, all hours over all agents)`,
    `makespan, fleet order ${hours(r.fleetOrderHours)}${pct(r.fleetOrderHours)}  priority, longest downstream chain, plan order`,
    `makespan, plan order  ${hours(r.planOrderHours)}${pct(r.planOrderHours)}  priority, plan order`
  ]
  if (r.unschedulable.length > 0) lines.push(`not schedulable       ${r.unschedulable.length} tasks, left out of the figures above (their role has no agent, or they wait on such a task): ${r.unschedulable.slice(0, 10).join(', ')}${r.unschedulable.length > 10 ? ', ...' : ''}`)
  lines.push(`(simulated in ${r.simulatedMs.toFixed(0)} ms)`)
  return lines.join('\n')
}

/** `fleet plan simulate FILE`: exit 0 with the figures, 1 for a bad plan, 2 for bad options. */
export async function simulateCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('plan simulate', argv, { agents: { type: 'string' }, json: { type: 'boolean' } }, true)
  if (positionals.length !== 1) throw new CliError('plan simulate: give exactly one plan FILE')
  const file = positionals[0] as string
  let plan: Plan
  try {
    plan = await readPlanFile(file)
  } catch (err) {
    if (err instanceof PlanValidationError) {
      process.stderr.write(`fleet: plan simulate: invalid plan: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}\n`)
      for (const p of err.problems) process.stderr.write(`  ${formatProblem(p)}\n`)
      return EXIT_FAILURE
    }
    const code = (err as NodeJS.ErrnoException).code
    if (code !== undefined) throw new CliError(`plan simulate: cannot read ${file}: ${code}`, EXIT_FAILURE)
    throw err
  }
  let crew: AgentSpec[]
  try {
    crew = values.agents === undefined
      ? agentsForRoles([...new Set(plan.tasks.map(t => t.role).filter((r): r is string => r !== null))])
      : parseAgentSpecs((values.agents as string).split(',').map(s => s.trim()).filter(s => s !== ''))
  } catch (err) {
    if (err instanceof AgentSpecError) throw new CliError(`plan simulate: invalid --agents: ${err.message}`)
    throw err
  }
  if (crew.length === 0) throw new CliError('plan simulate: --agents names no agent')
  const report = simulatePlan(plan, crew)
  process.stdout.write((values.json === true ? JSON.stringify(report, null, 2) : renderSimulation(report)) + '\n')
  return 0
}
