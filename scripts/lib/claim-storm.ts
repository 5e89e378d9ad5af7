import { percentile } from './stats.js'

/**
 * A claim storm: agents race for the same few tasks through different nodes over HTTP, the way an
 * external agent would, and every state any of them is ever shown is recorded (not only the final
 * one), so a confirmation that was later taken back still counts. Used by the contention test and
 * by bench:storm.
 */

export interface StormAgent { id: string, url: string }

export interface StormInit {
  agents: StormAgent[]
  role: string
  /** Stop once this many claims were confirmed in total. */
  targetConfirmed: number
  /** Stop at this point anyway (ms since epoch). */
  deadline: number
  /** Each agent picks at random among the first `spread` available tasks (default 3). */
  spread?: number
  /** Poll interval while a claim is pending (default 10 ms). */
  pollMs?: number
  random?: () => number
}

/** One state an agent was shown for one of its assignments. */
export interface Observation { agentId: string, assignmentId: string, taskId: string, attempt: number, state: string, at: number }

export interface StormResult {
  observations: Observation[]
  claimsAccepted: number
  claimsRefused: number
  confirmed: number
  /** Claim sent to first `confirmed` seen, ms. */
  confirmLatencies: number[]
  /** Task attempts that some agents were shown `confirmed` for two or more assignments. */
  doubleConfirmed: Array<{ taskId: string, attempt: number, assignments: string[] }>
}

interface AssignmentJson { id: string, taskId: string, attempt: number, state: string }

async function call<T> (url: string, method: string, body?: unknown): Promise<{ status: number, body: T }> {
  const res = await fetch(url, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, body: await res.json() as T }
}

export async function runClaimStorm (init: StormInit): Promise<StormResult> {
  const spread = init.spread ?? 3
  const pollMs = init.pollMs ?? 10
  const random = init.random ?? Math.random
  const observations: Observation[] = []
  const latencies: number[] = []
  let accepted = 0
  let refused = 0
  let confirmed = 0
  const done = (): boolean => confirmed >= init.targetConfirmed || Date.now() >= init.deadline
  const see = (agentId: string, a: AssignmentJson): void => {
    observations.push({ agentId, assignmentId: a.id, taskId: a.taskId, attempt: a.attempt, state: a.state, at: Date.now() })
  }

  await Promise.all(init.agents.map(async (agent) => {
    while (!done()) {
      await call(`${agent.url}/api/agents/${agent.id}/heartbeat`, 'PUT', {})
      const avail = await call<Array<{ id: string }>>(`${agent.url}/api/tasks/available?role=${encodeURIComponent(init.role)}`, 'GET')
      const choices = avail.body.slice(0, spread)
      if (choices.length === 0) break
      const task = choices[Math.floor(random() * choices.length)] as { id: string }
      const sent = performance.now()
      const claim = await call<AssignmentJson>(`${agent.url}/api/assignments`, 'POST', { taskId: task.id, agentId: agent.id })
      if (claim.status !== 202) { refused++; continue }
      accepted++
      see(agent.id, claim.body)
      let state = claim.body.state
      while (state === 'pending' && Date.now() < init.deadline + 30_000) {
        await new Promise(resolve => setTimeout(resolve, pollMs))
        const a = await call<AssignmentJson>(`${agent.url}/api/assignments/${claim.body.id}`, 'GET')
        see(agent.id, a.body)
        state = a.body.state
      }
      if (state !== 'confirmed') continue
      confirmed++
      latencies.push(performance.now() - sent)
      const c = await call<AssignmentJson & { error?: string }>(`${agent.url}/api/assignments/${claim.body.id}/complete`, 'PUT', { summary: 'storm' })
      if (c.status === 200) see(agent.id, c.body)
    }
  }))

  const byAttempt = new Map<string, Set<string>>()
  for (const o of observations) {
    if (o.state !== 'confirmed') continue
    const key = `${o.taskId}#${o.attempt}`
    let s = byAttempt.get(key)
    if (s === undefined) byAttempt.set(key, s = new Set())
    s.add(o.assignmentId)
  }
  const doubleConfirmed = [...byAttempt].filter(([, s]) => s.size > 1).map(([key, s]) => {
    const [taskId, attempt] = key.split('#') as [string, string]
    return { taskId, attempt: Number(attempt), assignments: [...s] }
  })
  return { observations, claimsAccepted: accepted, claimsRefused: refused, confirmed, confirmLatencies: latencies, doubleConfirmed }
}

/** One line: counts and claim-to-confirmed latency. */
export function stormSummary (r: StormResult, seconds: number): string {
  const l = r.confirmLatencies
  return `${r.claimsAccepted} claims accepted, ${r.claimsRefused} refused, ${r.confirmed} confirmed in ${seconds.toFixed(1)} s; ` +
    `claim->confirmed p50 ${percentile(l, 50).toFixed(0)} ms, p99 ${percentile(l, 99).toFixed(0)} ms; ` +
    `task attempts confirmed twice: ${r.doubleConfirmed.length}`
}

/**
 * Prepares a storm on running, connected nodes: a one-epic plan of `tasks` tasks for `role` without
 * dependencies, imported on the first node, and `agentsPerNode` agents registered on each node;
 * returns the agents once every node knows the plan and all of them.
 */
export async function prepareStorm (urls: string[], opts: { tasks: number, agentsPerNode: number, role: string, waitFor: <T>(check: () => Promise<T | false>, what: string, timeoutMs?: number) => Promise<T> }): Promise<StormAgent[]> {
  const first = urls[0]
  if (first === undefined) throw new Error('a storm needs at least one node')
  const plan = {
    id: 'storm', title: 'claim storm',
    epics: [{ id: 'E1', title: 'storm', role: opts.role }],
    tasks: Array.from({ length: opts.tasks }, (_, i) => ({ id: `S${i}`, epic: 'E1', title: `storm task ${i}`, estimatedHours: 1, dependsOn: [] }))
  }
  const imp = await call<{ heads: string[] }>(first + '/api/plan/import', 'POST', { plan })
  if (imp.status !== 200) throw new Error(`plan import answered ${imp.status}: ${JSON.stringify(imp.body)}`)
  const agents = urls.flatMap((url, n) => Array.from({ length: opts.agentsPerNode }, (_, i) => ({ id: `storm-${n}-${i}`, url })))
  for (const a of agents) {
    const r = await call(a.url + '/api/agents', 'POST', { id: a.id, role: opts.role })
    if (r.status !== 201 && r.status !== 200) throw new Error(`registering ${a.id} answered ${r.status}`)
  }
  await opts.waitFor(async () => {
    const seen = await Promise.all(urls.map(async u => ({
      agents: (await call<unknown[]>(u + '/api/agents', 'GET')).body.length,
      tasks: (await call<unknown[]>(`${u}/api/tasks/available?role=${encodeURIComponent(opts.role)}`, 'GET')).body.length
    })))
    return seen.every(s => s.agents >= agents.length && s.tasks === opts.tasks)
  }, `every node to know the ${opts.tasks}-task plan and the ${agents.length} agents`, 60_000)
  return agents
}
