import { parseCommandArgs } from './args.js'
import { ApiError, BadNodeUrlError, DEFAULT_NODE_URL, FleetClient, NodeUnreachableError } from './client.js'
import { CliError, EXIT_FAILURE } from './errors.js'
import { DASH, duration, formatTable, hours, progressBar } from './format.js'
import type { OverviewJson } from './status.js'
import type { AgentStats, DoneTask, Incident, RoleStats, ThroughputBucket } from '../../crdt/rules/analytics.js'
import type { ForecastView } from '../services/analytics.js'

export const REPORT_USAGE = `usage: fleet report [--node URL] [--json] [--bucket hour|day]
  A report to read: progress, forecast with the critical path, per-agent and per-role tables,
  throughput, the slowest tasks against their estimates, failures and ejections with reasons.
  --node URL     the node to ask (default ${DEFAULT_NODE_URL}; env FLEET_NODE)
  --bucket B     throughput per hour or per day (default day)
  --json         print JSON instead of text`

/** How many slow tasks and incidents the report lists. */
export const REPORT_LIST_LIMIT = 10

export interface Report {
  node: string
  generatedAt: number
  overview: OverviewJson
  forecast: ForecastView
  agents: AgentStats[]
  roles: RoleStats[]
  throughput: { bucket: 'hour' | 'day', buckets: ThroughputBucket[] }
  slowest: DoneTask[]
  incidents: Incident[]
}

export async function gatherReport (client: FleetClient, bucket: 'hour' | 'day', now = Date.now()): Promise<Report> {
  const [overview, forecast, agents, roles, buckets, slowest, incidents] = await Promise.all([
    client.get<OverviewJson>('/api/progress/overview'),
    client.get<ForecastView>('/api/progress/forecast'),
    client.get<AgentStats[]>('/api/analytics/agents'),
    client.get<RoleStats[]>('/api/analytics/roles'),
    client.get<ThroughputBucket[]>(`/api/analytics/throughput?bucket=${bucket}`),
    client.get<DoneTask[]>(`/api/analytics/slowest?limit=${REPORT_LIST_LIMIT}`),
    client.get<Incident[]>(`/api/analytics/incidents?limit=${REPORT_LIST_LIMIT}`)
  ])
  return { node: client.baseUrl, generatedAt: now, overview, forecast, agents, roles, throughput: { bucket, buckets }, slowest, incidents }
}

const iso = (t: number | null | undefined): string => (typeof t === 'number' ? new Date(t).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : DASH)
const ms = (x: number | null | undefined): string => (typeof x === 'number' ? duration(x) : DASH)
const ratio = (x: number | null | undefined): string => (typeof x === 'number' ? x < 0.01 ? x.toExponential(1) : x.toFixed(2) : DASH)
const pct = (x: number): string => `${Math.round(x * 100)}%`

function perfColumns (first: string): Parameters<typeof formatTable>[0] {
  return [{ header: first }, { header: 'DONE', align: 'right' }, { header: 'HOURS', align: 'right' }, { header: 'ATTEMPTS', align: 'right' }, { header: 'FAILED', align: 'right' },
    { header: 'BUSY', align: 'right' }, { header: 'CYCLE P50', align: 'right' }, { header: 'CYCLE P90', align: 'right' }, { header: 'ACTUAL/EST', align: 'right' }]
}

function perfCells (s: AgentStats | RoleStats): string[] {
  return [String(s.tasksDone), hours(s.hoursDone), String(s.attempts), `${s.failures} (${pct(s.failureRate)})`, ms(s.busyMs), ms(s.cycleTimeMs.p50), ms(s.cycleTimeMs.p90), ratio(s.estimateRatio)]
}

export function renderReport (r: Report, now = r.generatedAt): string {
  const o = r.overview
  const f = r.forecast
  const out: string[] = [`fleet report  ${iso(r.generatedAt)}  node ${r.node}`, '']
  out.push(`PROGRESS  ${progressBar(o.percentComplete)} ${o.percentComplete}% of ${hours(o.totalEstimatedHours)} (hours-weighted), ${o.byStatus.done ?? 0}/${o.totalTasks} tasks done`)
  out.push('', `FORECAST  ${hours(f.remainingHours)} remaining; critical path ${hours(f.criticalPathHours)}; lower bound ${hours(f.lowerBoundHours)}; simulated ${hours(f.makespanHours)} of estimates x ${ratio(f.estimateRatio)} actual/estimated`)
  if (f.blockers.length > 0) {
    out.push(`  blocked: no agent for ${f.blockers.map(b => `${b.role} (${b.tasks} tasks, ${hours(b.hours)})`).join(', ')}: no finish can be projected`)
  } else if (f.projectedFinishAt !== null) {
    out.push(`  projected finish ${iso(f.projectedFinishAt)} (in ${ms(f.projectedFinishAt - now)}); p50 ${iso(f.p50FinishAt)}, p90 ${iso(f.p90FinishAt)} (${f.runs} simulations)`)
  }
  out.push(`  agents per role: ${Object.entries(f.agentsPerRole).map(([k, v]) => `${k} ${v}`).join(', ') || 'none live'}`)
  if (f.criticalPath.length > 0) out.push(`  critical path: ${f.criticalPath.length > 12 ? [...f.criticalPath.slice(0, 6), '...', ...f.criticalPath.slice(-5)].join(' -> ') : f.criticalPath.join(' -> ')}`)

  out.push('', 'AGENTS')
  out.push(r.agents.length === 0 ? '  none' : formatTable([...perfColumns('AGENT').slice(0, 1), { header: 'ROLE' }, ...perfColumns('AGENT').slice(1)], r.agents.map(a => [a.agentId, a.role, ...perfCells(a)])))
  out.push('', 'ROLES')
  out.push(r.roles.length === 0 ? '  none' : formatTable([...perfColumns('ROLE').slice(0, 1), { header: 'AGENTS', align: 'right' }, ...perfColumns('ROLE').slice(1)], r.roles.map(x => [x.role, String(x.agents), ...perfCells(x)])))

  out.push('', `THROUGHPUT  per ${r.throughput.bucket}`)
  const shown = r.throughput.buckets.slice(-24)
  out.push(shown.length === 0
    ? '  nothing done yet'
    : formatTable([{ header: r.throughput.bucket === 'day' ? 'DAY' : 'HOUR' }, { header: 'TASKS', align: 'right' }, { header: 'HOURS', align: 'right' }, { header: 'EJECTED', align: 'right' }, { header: 'FAILED', align: 'right' }],
      shown.map(b => [iso(b.start).slice(0, r.throughput.bucket === 'day' ? 10 : 16), String(b.tasks), hours(b.hours), String(b.ejections), String(b.failures)])))

  out.push('', 'SLOWEST AGAINST ESTIMATE')
  out.push(r.slowest.length === 0
    ? '  none done yet'
    : formatTable([{ header: 'TASK' }, { header: 'AGENT' }, { header: 'ESTIMATE', align: 'right' }, { header: 'WORKED', align: 'right' }, { header: 'ACTUAL/EST', align: 'right' }, { header: 'CYCLE', align: 'right' }],
      r.slowest.map(d => [d.taskId, d.agentId ?? DASH, hours(d.estimatedHours), ms(d.workMs), ratio(d.ratio), ms(d.cycleMs)])))

  out.push('', 'FAILURES AND EJECTIONS')
  out.push(r.incidents.length === 0
    ? '  none'
    : formatTable([{ header: 'WHEN' }, { header: 'KIND' }, { header: 'TASK' }, { header: 'AGENT' }, { header: 'REASON', maxWidth: 70 }],
      r.incidents.map(i => [iso(i.at), i.kind, i.taskId, i.agentId, i.reason ?? ''])))
  return out.join('\n')
}

/** `fleet report`: exit 0 with the report, 1 when the node cannot be asked, 2 for bad options. */
export async function reportCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('report', argv, { node: { type: 'string' }, json: { type: 'boolean' }, bucket: { type: 'string' } })
  const bucket = (values.bucket as string | undefined) ?? 'day'
  if (bucket !== 'hour' && bucket !== 'day') throw new CliError(`report: invalid --bucket "${bucket}" (hour or day)`)
  let client: FleetClient
  try {
    client = new FleetClient({ baseUrl: (values.node as string | undefined) ?? process.env.FLEET_NODE ?? DEFAULT_NODE_URL, ...(process.env.FLEET_API_TOKEN === undefined ? {} : { token: process.env.FLEET_API_TOKEN }) })
  } catch (err) {
    if (err instanceof BadNodeUrlError) throw new CliError(`report: invalid --node: ${err.message}`)
    throw err
  }
  let report: Report
  try {
    report = await gatherReport(client, bucket)
  } catch (err) {
    if (err instanceof NodeUnreachableError || err instanceof ApiError) throw new CliError(`report: ${err.message}`, EXIT_FAILURE)
    throw err
  }
  process.stdout.write((values.json === true ? JSON.stringify(report, null, 2) : renderReport(report)) + '\n')
  return 0
}
