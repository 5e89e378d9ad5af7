import { TASK_STATUSES } from '../../crdt/schema.js'
import { parseCommandArgs } from './args.js'
import { ApiError, BadNodeUrlError, DEFAULT_NODE_URL, FleetClient, NodeUnreachableError } from './client.js'
import { CliError, EXIT_FAILURE } from './errors.js'
import { CaFileError, readCaFile } from './transport.js'
import { ago, DASH, duration, formatTable, hours, progressBar, shortId } from './format.js'
import type { TaskState } from '../../crdt/projection.js'

/**
 * `fleet status`, `fleet tasks`, `fleet agents`: what a node sees, as tables or JSON. Endpoints a
 * node does not have (older versions) show as a dash; a node that does not answer is exit 1.
 */

const NODE_OPTION_HELP = `  --node URL    the node to ask (default ${DEFAULT_NODE_URL}; env FLEET_NODE, its first URL)
  --ca FILE     trust this PEM CA for an https:// node, besides the system CAs (env FLEET_CA)
  --json        print JSON instead of tables`

export const STATUS_USAGE = `usage: fleet status [--node URL] [--json]
  peers, leader, tasks by status, epics with progress, agents and the merge queue
${NODE_OPTION_HELP}`

export const TASKS_USAGE = `usage: fleet tasks [--status S] [--epic E] [--role R] [--node URL] [--json]
  --status S    only tasks with this status (${TASK_STATUSES.join(', ')})
  --epic E      only tasks of this epic
  --role R      only tasks for this role
${NODE_OPTION_HELP}`

export const AGENTS_USAGE = `usage: fleet agents [--node URL] [--json]
  registered agents with their health and current task
${NODE_OPTION_HELP}`

/** The API shapes these commands read (only the fields they use). */
export interface HealthJson { status: string, peerId: string, peers: number, heads: string[], uptimeMs: number, leader?: string | null, term?: number, problems?: Array<{ code: string, message: string, since: number }>, bootstrap?: BootstrapJson[] }
export interface PeerJson { peerId: string, inSync: boolean, lastSeenAt: number | null, http: string | null }
export interface BootstrapJson { peerId: string, addrs: string[], state: string, retryingSince: number | null, failures: number, lastError: string | null, nextAttemptAt: number | null }
export interface EpicJson { epic: string, title: string, tasks: number, hours: number, doneHours: number, percent: number }
export interface OverviewJson { totalTasks: number, totalEstimatedHours: number, byStatus: Record<string, number>, byEpic: EpicJson[], percentComplete: number }
export interface AgentJson { id: string, name?: string, role: string, health_status?: string, lastHeartbeatAt?: number | null, currentAssignment?: string | null, currentTask?: string | null }
/** A task as `GET /api/tasks` returns it (crdt/projection.ts TaskState), the fields shown here. */
export type TaskJson = Pick<TaskState, 'id' | 'title' | 'epic' | 'role' | 'estimatedHours'> & { status: string } & Partial<Pick<TaskState, 'assignee' | 'assignmentId' | 'progress' | 'reason'>>
export interface AssignmentJson { id: string, taskId: string, progress?: number | null }
export interface AlertJson { fingerprint: string, alertname: string, status: string, labels: Record<string, string>, annotations?: { summary?: string }, startsAt: string }
export interface AlertsJson { active: AlertJson[], recent: AlertJson[] }
export interface QueueEntryJson { id: string, taskId: string, branch: string, agentId?: string, state: string, reason?: string | null, sha?: string | null }

/** Everything `fleet status` shows; null for what the node does not offer. */
export interface StatusReport {
  node: string
  health: HealthJson
  peers: PeerJson[] | null
  overview: OverviewJson | null
  tasksByStatus: Record<string, number> | null
  agents: AgentJson[] | null
  /** The current assignment of each busy agent, by assignment id. */
  assignments: Record<string, AssignmentJson>
  mergeQueue: QueueEntryJson[] | null
  /** GET /api/alerts; absent or null when the node has no alerting. */
  alerts?: AlertsJson | null
}

const commonOptions = {
  node: { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean' }
} as const

function clientFor (values: { node?: unknown, ca?: unknown }): FleetClient {
  return clientOptions(values.node as string | undefined, values.ca as string | undefined, process.env.FLEET_API_TOKEN)
}

/**
 * A client from --node (else the first URL of FLEET_NODE, which `fleet agent` reads as a comma
 * separated list) and --ca (else FLEET_CA); a bad value is a usage error.
 */
export function clientOptions (node: string | undefined, caFile: string | undefined, token: string | undefined): FleetClient {
  const url = node ?? process.env.FLEET_NODE?.split(',')[0]?.trim() ?? DEFAULT_NODE_URL
  const file = caFile ?? (process.env.FLEET_CA === '' ? undefined : process.env.FLEET_CA)
  let ca: string | undefined
  try {
    if (file !== undefined) ca = readCaFile(file)
    return new FleetClient({ baseUrl: url === '' ? DEFAULT_NODE_URL : url, ...(token === undefined ? {} : { token }), ...(ca === undefined ? {} : { ca }) })
  } catch (err) {
    if (err instanceof BadNodeUrlError) throw new CliError(`invalid --node: ${err.message}`)
    if (err instanceof CaFileError) throw new CliError(`invalid --ca: ${err.message}`)
    throw err
  }
}

/** Talking to the node failed: one line, exit 1 (usage errors are exit 2, raised before). */
async function talking<T> (fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof NodeUnreachableError || err instanceof ApiError) throw new CliError(err.message, EXIT_FAILURE)
    throw err
  }
}

function print (text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n')
}

function countBy (values: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}

/** Statuses in board order, plus any the node reports that this CLI does not know. */
function statusOrder (byStatus: Record<string, number>): string[] {
  return [...TASK_STATUSES, ...Object.keys(byStatus).filter(s => !(TASK_STATUSES as readonly string[]).includes(s))]
}

export async function gatherStatus (client: FleetClient): Promise<StatusReport> {
  // Health first: if the node is not there, say so once instead of six times.
  const health = await client.get<HealthJson>('/health')
  const [peers, overview, agents, mergeQueue, alerts] = await Promise.all([
    client.getOptional<PeerJson[] | { peers: PeerJson[] }>('/api/peers').then(p => p === null || Array.isArray(p) ? p : p.peers),
    client.getOptional<OverviewJson>('/api/progress/overview'),
    client.getOptional<AgentJson[]>('/api/agents'),
    client.getOptional<QueueEntryJson[]>('/api/git/merge-queue'),
    client.getOptional<AlertsJson>('/api/alerts')
  ])
  let tasksByStatus = overview?.byStatus ?? null
  if (tasksByStatus === null) {
    const tasks = await client.getOptional<TaskJson[]>('/api/tasks')
    tasksByStatus = tasks === null ? null : countBy(tasks.map(t => t.status))
  }
  const assignments: Record<string, AssignmentJson> = {}
  const busy = (agents ?? []).map(a => a.currentAssignment).filter((id): id is string => typeof id === 'string')
  for (const a of await Promise.all(busy.map(async id => await client.getOptional<AssignmentJson>(`/api/assignments/${encodeURIComponent(id)}`)))) {
    if (a !== null) assignments[a.id] = a
  }
  return { node: client.baseUrl, health, peers, overview, tasksByStatus, agents, assignments, mergeQueue, alerts }
}

function leaderLine (h: HealthJson): string {
  if (!('leader' in h) || h.leader === undefined) return DASH
  if (h.leader === null) return 'none'
  const self = h.leader === h.peerId ? ' (this node)' : ''
  return `${h.leader}${self}${typeof h.term === 'number' ? `, term ${h.term}` : ''}`
}

/** What an agent works on: the task of its current assignment, with progress when known. */
type WorkLookup = (assignmentId: string) => { taskId: string, progress?: number | null } | undefined

function agentTable (agents: AgentJson[], lookup: WorkLookup, now = Date.now()): string {
  return formatTable(
    [{ header: 'AGENT' }, { header: 'NAME', maxWidth: 24 }, { header: 'ROLE' }, { header: 'HEALTH' }, { header: 'WORKING ON', maxWidth: 40 }, { header: 'HEARTBEAT' }],
    agents.map((a) => {
      const work = a.currentAssignment == null ? undefined : lookup(a.currentAssignment)
      const working = work !== undefined
        ? `${work.taskId}${typeof work.progress === 'number' ? ` ${work.progress}%` : ''}`
        : a.currentTask ?? a.currentAssignment ?? 'idle'
      return [a.id, a.name ?? '', a.role, a.health_status ?? DASH, working, ago(a.lastHeartbeatAt, now)]
    })
  )
}

/** Each bootstrap peer's dial state: why this node is (not) connected to it. */
function bootstrapTable (list: BootstrapJson[], now: number): string {
  return formatTable(
    [{ header: 'BOOTSTRAP' }, { header: 'ADDRESS', maxWidth: 48 }, { header: 'STATE' }, { header: 'SINCE' }, { header: 'TRIES', align: 'right' }, { header: 'NEXT' }, { header: 'LAST ERROR', maxWidth: 60 }],
    list.map(b => [
      shortId(b.peerId),
      (b.addrs[0] ?? DASH).replace(/\/p2p\/[^/]+$/, '') + (b.addrs.length > 1 ? ` +${b.addrs.length - 1}` : ''),
      b.state,
      b.retryingSince === null ? DASH : ago(b.retryingSince, now),
      String(b.failures),
      b.nextAttemptAt === null ? DASH : `in ${duration(Math.max(0, b.nextAttemptAt - now))}`,
      b.lastError ?? ''
    ])
  )
}

/** Firing alerts first, so an operator sees at once what needs attention. */
function alertLines (alerts: AlertsJson | null, now: number): string[] {
  if (alerts === null) return [`ALERTS  ${DASH}`]
  const active = alerts.active
  if (active.length === 0) return ['ALERTS  none firing']
  const rest = (l: Record<string, string>): string => Object.entries(l).filter(([k]) => k !== 'alertname' && k !== 'severity').map(([k, v]) => `${k}=${v}`).join(' ')
  return [`ALERTS  ${active.length} firing`, formatTable(
    [{ header: 'ALERT' }, { header: 'SEVERITY' }, { header: 'LABELS', maxWidth: 60 }, { header: 'SINCE' }, { header: 'SUMMARY', maxWidth: 60 }],
    active.map(a => [a.alertname, a.labels.severity ?? DASH, rest(a.labels), ago(Date.parse(a.startsAt), now), a.annotations?.summary ?? ''])
  )]
}

export function renderStatus (r: StatusReport, now = Date.now()): string {
  const h = r.health
  const out: string[] = []
  const kv = (k: string, v: string): string => `${k.padEnd(9)}${v}`
  out.push(
    kv('node', h.peerId),
    kv('http', r.node),
    kv('status', `${h.status}, up ${duration(h.uptimeMs)}`),
    ...(h.problems ?? []).map(p => kv('problem', `${p.message} (since ${ago(p.since, now)})`)),
    kv('leader', leaderLine(h)),
    kv('peers', `${h.peers} connected`)
  )
  if (h.bootstrap !== undefined && h.bootstrap.length > 0) out.push('', bootstrapTable(h.bootstrap, now))

  if (r.peers !== null && r.peers.length > 0) {
    out.push('', formatTable(
      [{ header: 'PEER' }, { header: 'ROLE' }, { header: 'HEADS' }, { header: 'LAST SEEN' }, { header: 'HTTP' }],
      r.peers.map(p => [p.peerId, p.peerId === h.leader ? 'leader' : 'peer', p.inSync ? 'in sync' : 'differ', ago(p.lastSeenAt, now), p.http ?? DASH])
    ))
  }

  out.push('', ...alertLines(r.alerts ?? null, now))
  out.push('')
  if (r.tasksByStatus === null) {
    out.push(`TASKS  ${DASH}`)
  } else {
    const o = r.overview
    const total = o?.totalTasks ?? Object.values(r.tasksByStatus).reduce((a, b) => a + b, 0)
    const head = o === null ? `${total} tasks` : `${total} tasks, ${hours(o.totalEstimatedHours)}, ${o.percentComplete}% done (hours-weighted)`
    out.push(`TASKS  ${head}`)
    const statuses = statusOrder(r.tasksByStatus)
    out.push(formatTable(statuses.map(s => ({ header: s.toUpperCase(), align: 'right' as const })), [statuses.map(s => String(r.tasksByStatus?.[s] ?? 0))]))
  }

  if (r.overview !== null && r.overview.byEpic.length > 0) {
    out.push('', formatTable(
      [{ header: 'EPIC', maxWidth: 48 }, { header: 'PROGRESS' }, { header: '%', align: 'right' }, { header: 'DONE', align: 'right' }, { header: 'HOURS', align: 'right' }, { header: 'TASKS', align: 'right' }],
      r.overview.byEpic.map(e => [e.title === e.epic || e.title === '' ? e.epic : `${e.epic} ${e.title}`, progressBar(e.percent), `${Math.round(e.percent)}%`, hours(e.doneHours), hours(e.hours), String(e.tasks)])
    ))
  }

  out.push('')
  if (r.agents === null) out.push(`AGENTS  ${DASH}`)
  else if (r.agents.length === 0) out.push('AGENTS  none registered')
  else out.push(agentTable(r.agents, id => r.assignments[id], now))

  out.push('')
  if (r.mergeQueue === null) {
    out.push(`MERGE QUEUE  ${DASH}`)
  } else {
    const waiting = r.mergeQueue.filter(e => e.state === 'queued' || e.state === 'merging')
    const ejected = r.mergeQueue.filter(e => e.state === 'ejected')
    const merged = r.mergeQueue.filter(e => e.state === 'merged').length
    out.push(`MERGE QUEUE  ${waiting.length} waiting, ${merged} merged, ${ejected.length} ejected`)
    const shown = [...waiting, ...ejected]
    if (shown.length > 0) {
      out.push(formatTable(
        [{ header: 'TASK' }, { header: 'BRANCH', maxWidth: 40 }, { header: 'AGENT' }, { header: 'STATE' }, { header: 'REASON', maxWidth: 60 }],
        shown.map(e => [e.taskId, e.branch, e.agentId ?? DASH, e.state, e.reason ?? ''])
      ))
    }
  }
  return out.join('\n')
}

export async function statusCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('status', argv, commonOptions)
  const client = clientFor(values)
  const report = await talking(async () => await gatherStatus(client))
  print(values.json === true ? JSON.stringify(report, null, 2) : renderStatus(report))
  return 0
}

export function renderTasks (tasks: TaskJson[]): string {
  if (tasks.length === 0) return 'no tasks'
  const table = formatTable(
    [{ header: 'ID' }, { header: 'STATUS' }, { header: 'EPIC' }, { header: 'HOURS', align: 'right' }, { header: 'ASSIGNEE' }, { header: 'PROGRESS', align: 'right' }, { header: 'TITLE', maxWidth: 60 }],
    tasks.map(t => [t.id, t.status, t.epic ?? DASH, hours(t.estimatedHours), t.assignee ?? '', typeof t.progress === 'number' ? `${t.progress}%` : '', t.title])
  )
  const total = tasks.reduce((n, t) => n + (t.estimatedHours ?? 0), 0)
  return `${table}\n\n${tasks.length} task${tasks.length === 1 ? '' : 's'}, ${hours(total)}`
}

export async function tasksCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('tasks', argv, {
    ...commonOptions,
    status: { type: 'string' },
    epic: { type: 'string' },
    role: { type: 'string' }
  })
  const status = values.status as string | undefined
  if (status !== undefined && !(TASK_STATUSES as readonly string[]).includes(status)) {
    throw new CliError(`tasks: invalid --status "${status}" (one of ${TASK_STATUSES.join(', ')})`)
  }
  const epic = values.epic as string | undefined
  const role = values.role as string | undefined
  const client = clientFor(values)
  const query = new URLSearchParams()
  if (status !== undefined) query.set('status', status)
  if (epic !== undefined) query.set('epic', epic)
  if (role !== undefined) query.set('role', role)
  const qs = query.size > 0 ? `?${query.toString()}` : ''
  const all = await talking(async () => {
    try {
      return await client.get<TaskJson[]>(`/api/tasks${qs}`)
    } catch (err) {
      // The node judged a filter value itself (e.g. an epic id with spaces): still a usage error.
      if (err instanceof ApiError && err.status === 400) throw new CliError(`tasks: ${err.message}`)
      throw err
    }
  })
  // Filter here too, so the command means the same against a node that ignores the query.
  const tasks = all.filter(t => (status === undefined || t.status === status) && (epic === undefined || t.epic === epic) && (role === undefined || t.role === role))
  print(values.json === true ? JSON.stringify(tasks, null, 2) : renderTasks(tasks))
  return 0
}

export async function agentsCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('agents', argv, commonOptions)
  const client = clientFor(values)
  const [agents, tasks] = await talking(async () => await Promise.all([
    client.get<AgentJson[]>('/api/agents'),
    client.getOptional<TaskJson[]>('/api/tasks')
  ]))
  if (values.json === true) print(JSON.stringify(agents, null, 2))
  else {
    const byAssignment = new Map((tasks ?? []).filter(t => typeof t.assignmentId === 'string').map(t => [t.assignmentId as string, { taskId: t.id, progress: t.progress ?? null }]))
    print(agents.length === 0 ? 'no agents registered' : agentTable(agents, id => byAssignment.get(id)))
  }
  return 0
}
