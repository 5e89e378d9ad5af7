import '../node/polyfill.js'
import { fileURLToPath } from 'node:url'
import { agentsForRoles } from '../node/agents/spec.js'
import { renderSimulation, simulatePlan } from '../node/cli/simulate.js'
import { DEFAULT_FORECAST_RUNS, forecastOf, mulberry32, downstreamHours, type SimTask } from '../plan/index.js'
import { readPlanFile, parsePlan } from '../plan/load.js'
import { generatePlan, GENERATED_ROLES } from './lib/generate-plan.js'
import { DEFAULT_FORECAST_TASK_BUDGET, MIN_FORECAST_RUNS } from '../node/services/analytics.js'
import { machineLine } from './lib/stats.js'

/**
 * bench:schedule — `fleet plan simulate` figures for the sample plan with the demo's 7 agents and
 * for the 10,000-task generated plan with one agent per role (7), and what one forecast (a point
 * simulation plus 100 sampled ones) costs at 10,000 tasks.
 */
const TASKS = Number(process.env.BENCH_TASKS ?? 10_000)
const SAMPLE = fileURLToPath(new URL('../../plan/examples/remediation-plan.md', import.meta.url))

async function main (): Promise<void> {
  const sample = await readPlanFile(SAMPLE)
  const sampleRoles = [...new Set(sample.tasks.map(t => t.role).filter((r): r is string => r !== null))]
  const out = [`bench:schedule  ${machineLine()}`, '', 'sample plan, the demo\'s agents:', renderSimulation(simulatePlan(sample, agentsForRoles(sampleRoles)))]

  const big = parsePlan(JSON.stringify(generatePlan(TASKS)), { format: 'json', file: 'generated.json' })
  const crew = agentsForRoles(GENERATED_ROLES)
  out.push('', `generated plan (${TASKS} tasks), one agent per role:`, renderSimulation(simulatePlan(big, crew)))

  const tasks: SimTask[] = big.tasks.map((t, i) => ({ id: t.id, estimatedHours: t.estimatedHours, dependsOn: t.dependsOn, order: i, priority: t.priority, role: t.role, status: 'pending' }))
  const t0 = performance.now()
  const downstream = downstreamHours(tasks)
  const chainsMs = performance.now() - t0
  // As a node runs it: the runs scale down with the plan's size (see AnalyticsService).
  const runs = Math.min(DEFAULT_FORECAST_RUNS, Math.max(MIN_FORECAST_RUNS, Math.floor(DEFAULT_FORECAST_TASK_BUDGET / tasks.length)))
  const cpu0 = process.cpuUsage()
  const t1 = performance.now()
  const f = forecastOf({ tasks, agents: crew.map(a => ({ id: a.name, role: a.role })), downstream, estimateRatio: 1, ratios: [0.5, 0.8, 1, 1.2, 2], now: 0, random: mulberry32(1), runs })
  const forecastMs = performance.now() - t1
  const cpu = process.cpuUsage(cpu0)
  out.push('', `downstream chains of ${TASKS} tasks: ${chainsMs.toFixed(0)} ms; one forecast (1 + ${f.runs} simulations): ${forecastMs.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`)
  process.stdout.write(out.join('\n') + '\n')
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:schedule failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
