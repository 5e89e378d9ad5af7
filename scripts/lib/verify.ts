import { ApiError, FleetClient, NodeUnreachableError } from '../../node/cli/client.js'
import { sleep } from '../../bootstrap/backoff.js'

/**
 * The deployment check of the earlier orchestrator, for a cluster of fleet nodes: seven checks,
 * each a pass/fail with a one-line detail. Only check 6 (claim) writes, and only when asked to.
 */

export const CHECKS = ['health', 'peers', 'heads', 'plan', 'agents', 'claim', 'merge'] as const
export type CheckName = typeof CHECKS[number]

/**
 * The one agent the claim check registers (again on every run, so it never piles up); the
 * agents check ignores it.
 */
export const VERIFY_AGENT_ID = 'fleet-verify'
export const DEFAULT_VERIFY_TIMEOUT_MS = 15_000
export const DEFAULT_VERIFY_POLL_MS = 200

export interface CheckResult {
  name: CheckName
  /** 1-7, as in the earlier deployment's checklist. */
  number: number
  ok: boolean
  detail: string
}

export interface VerifyInit {
  /** Base URLs of the nodes (see parseNodeUrl). */
  urls: string[]
  /** Bearer token for the claim round trip's writes. */
  token?: string
  /** Checks to run, in CHECKS order; default all. */
  checks?: readonly CheckName[]
  /** The claim check only reads (no agent registered, nothing claimed). Default false. */
  readOnly?: boolean
  /** The agents check fails with fewer healthy agents than this. Default 1. */
  expectAgents?: number
  /** How long heads may take to converge and a claim to confirm. Default DEFAULT_VERIFY_TIMEOUT_MS. */
  timeoutMs?: number
  pollMs?: number
  /** Called as each check finishes (to print it at once). */
  onResult?: (r: CheckResult) => void
}

interface Health { status: string, peerId: string, peers: number, heads: string[], leader?: string | null, term?: number }
interface Node { url: string, client: FleetClient, health: Health | null, error: string | null }
interface Overview { totalTasks: number, totalEstimatedHours: number, byStatus: Record<string, number>, byEpic: unknown[], percentComplete: number }
interface Agent { id: string, role: string, health_status: string }
interface Task { id: string, role: string | null }
interface Assignment { id: string, state: string }
interface MergeEntry { state: string }

class CheckFailed extends Error {}

function short (peerId: string): string {
  return peerId.length > 10 ? `…${peerId.slice(-6)}` : peerId
}

function reason (err: unknown): string {
  if (err instanceof ApiError && err.status === 404) return `${err.path} is not served (404): is this node older than the check?`
  if (err instanceof ApiError && err.status === 401) return `${err.method} ${err.path} needs the API token (pass --token-file FILE or FLEET_API_TOKEN)`
  if (err instanceof NodeUnreachableError || err instanceof ApiError || err instanceof CheckFailed) return err.message
  return (err as Error).message ?? String(err)
}

/**
 * Runs the checks in order and returns every result (the caller decides the exit status).
 * Long by design: the checks are a table (one entry per check) over the same reachable nodes.
 */
export async function verifyCluster (init: VerifyInit): Promise<CheckResult[]> {
  const timeoutMs = init.timeoutMs ?? DEFAULT_VERIFY_TIMEOUT_MS
  const pollMs = init.pollMs ?? DEFAULT_VERIFY_POLL_MS
  const wanted = new Set(init.checks ?? CHECKS)
  const nodes: Node[] = init.urls.map(url => ({
    url,
    client: new FleetClient({ baseUrl: url, timeoutMs: 5000, ...(init.token === undefined ? {} : { token: init.token }) }),
    health: null,
    error: null
  }))
  await Promise.all(nodes.map(async (n) => {
    try {
      n.health = await n.client.get<Health>('/health')
    } catch (err) {
      n.error = reason(err)
    }
  }))
  const up = nodes.filter(n => n.health !== null)
  const first = (): Node => {
    const n = up[0]
    if (n === undefined) throw new CheckFailed('no node reachable')
    return n
  }
  const allUp = (): void => {
    const down = nodes.filter(n => n.health === null)
    if (down.length > 0) throw new CheckFailed(`cannot check ${down.map(n => n.url).join(', ')} (unreachable)`)
  }

  const checks: Record<CheckName, () => Promise<string>> = {
    async health () {
      const bad = nodes.filter(n => n.health?.status !== 'healthy')
      if (bad.length > 0) {
        throw new CheckFailed(`${nodes.length - bad.length} of ${nodes.length} healthy; ` +
          bad.map(n => `${n.url}: ${n.error ?? `status ${String(n.health?.status)}`}`).join('; '))
      }
      return `${nodes.length} of ${nodes.length} nodes healthy (${up.map(n => short(n.health?.peerId ?? '')).join(', ')})`
    },

    async peers () {
      allUp()
      const ids = up.map(n => n.health?.peerId ?? '')
      if (new Set(ids).size !== ids.length) throw new CheckFailed('two URLs reach the same node (same peer id)')
      const problems: string[] = []
      const counts: number[] = []
      for (const n of up) {
        // `{peers, bootstrap}`; older nodes answer with the bare array of peers.
        const body = await n.client.get<Array<{ peerId: string }> | { peers: Array<{ peerId: string }> }>('/api/peers')
        const seen = new Set((Array.isArray(body) ? body : body.peers).map(p => p.peerId))
        counts.push(seen.size)
        const missing = ids.filter(id => id !== n.health?.peerId && !seen.has(id))
        if (missing.length > 0) problems.push(`${n.url} does not see ${missing.map(short).join(', ')}`)
      }
      if (problems.length > 0) throw new CheckFailed(problems.join('; '))
      const extra = counts.some(c => c > up.length - 1) ? ' (some see nodes not listed here)' : ''
      return `each node sees the other ${up.length - 1} (connected peers: ${counts.join(', ')})${extra}`
    },

    async heads () {
      allUp()
      const started = Date.now()
      let last: string[] = []
      for (;;) {
        last = await Promise.all(up.map(async n => (await n.client.get<Health>('/health')).heads.join(',')))
        if (last.every(h => h === last[0])) {
          const heads = (last[0] ?? '').split(',').filter(Boolean)
          return `same heads on ${up.length} nodes (${heads.map(h => h.slice(0, 8)).join(', ') || 'empty document'}) after ${((Date.now() - started) / 1000).toFixed(1)} s`
        }
        if (Date.now() - started > timeoutMs) break
        await sleep(pollMs)
      }
      throw new CheckFailed(`heads still differ after ${timeoutMs / 1000} s: ` +
        up.map((n, i) => `${n.url} ${(last[i] ?? '').split(',').map(h => h.slice(0, 8)).join('+')}`).join(', '))
    },

    async plan () {
      const o = await first().client.get<Overview>('/api/progress/overview')
      if (!(o.totalTasks > 0)) throw new CheckFailed('no plan loaded (0 tasks): import one with "fleet plan import FILE"')
      const byStatus = Object.entries(o.byStatus ?? {}).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ')
      return `${o.totalTasks} tasks, ${o.totalEstimatedHours} estimated hours, ${o.byEpic?.length ?? 0} epics; ${byStatus} (${o.percentComplete}% complete)`
    },

    async agents () {
      const agents = (await first().client.get<Agent[]>('/api/agents')).filter(a => a.id !== VERIFY_AGENT_ID)
      const expect = init.expectAgents ?? 1
      if (agents.length === 0) throw new CheckFailed('no agents registered')
      const unhealthy = agents.filter(a => a.health_status !== 'healthy')
      if (unhealthy.length > 0) throw new CheckFailed(`${unhealthy.map(a => `${a.id} is ${a.health_status}`).join(', ')} (${agents.length - unhealthy.length} of ${agents.length} healthy)`)
      if (agents.length < expect) throw new CheckFailed(`${agents.length} agents registered, expected at least ${expect}`)
      return `${agents.length} agents registered and healthy (${agents.map(a => `${a.id}:${a.role}`).join(', ')})`
    },

    async claim () {
      const a = first()
      const b = up[up.length - 1] ?? a
      const available = await a.client.get<Task[]>('/api/tasks/available')
      const task = available[0]
      if (init.readOnly === true) return `read-only: ${available.length} tasks available to claim; nothing claimed`
      if (task === undefined) return 'no task available to claim, so no round trip (nothing changed)'
      const agentId = VERIFY_AGENT_ID
      await a.client.post('/api/agents', { id: agentId, name: 'verify-cluster.sh', role: task.role ?? 'verify' })
      // A run that was interrupted may have left its claim: give it back first.
      for (const held of await a.client.get<Assignment[]>(`/api/agents/${agentId}/assignments`)) {
        if (held.state === 'pending' || held.state === 'confirmed') await a.client.put(`/api/assignments/${held.id}/release`, {})
      }
      const started = Date.now()
      const claim = await a.client.post<Assignment>('/api/assignments', { taskId: task.id, agentId })
      const where = b === a ? 'the same node' : b.url
      let confirmedIn = 0
      try {
        for (;;) {
          const seen = await b.client.getOptional<Assignment>(`/api/assignments/${claim.id}`)
          if (seen?.state === 'confirmed') { confirmedIn = Date.now() - started; break }
          if (seen !== null && seen.state !== 'pending') throw new CheckFailed(`claim of ${task.id} ended ${seen.state} on ${where} instead of being confirmed (another agent claimed it at the same time?)`)
          if (Date.now() - started > timeoutMs) throw new CheckFailed(`claim of ${task.id} not confirmed on ${where} within ${timeoutMs / 1000} s (last state: ${seen?.state ?? 'not there yet'})`)
          await sleep(pollMs)
        }
      } finally {
        // Give the task back whatever happened: the check must not hold real work.
        await a.client.put(`/api/assignments/${claim.id}/release`, {}).catch(() => {})
      }
      const releasedBy = Date.now() + timeoutMs
      for (;;) {
        const seen = await b.client.get<Assignment>(`/api/assignments/${claim.id}`)
        if (seen.state === 'released') break
        if (Date.now() > releasedBy) throw new CheckFailed(`released ${claim.id} but ${where} still shows it ${seen.state}`)
        await sleep(pollMs)
      }
      return `claimed ${task.id} on ${a.url} as ${agentId}, confirmed on ${where} in ${(confirmedIn / 1000).toFixed(1)} s, released`
    },

    async merge () {
      const queue = await first().client.get<MergeEntry[]>('/api/git/merge-queue')
      const leaders = up.map(n => ({ url: n.url, leader: n.health?.leader ?? null, term: n.health?.term }))
      const none = leaders.filter(l => l.leader === null)
      if (none.length > 0) throw new CheckFailed(`no leader named in /health of ${none.map(l => l.url).join(', ')}`)
      const distinct = new Set(leaders.map(l => l.leader))
      if (distinct.size > 1) throw new CheckFailed(`nodes name different leaders: ${leaders.map(l => `${l.url} ${short(l.leader ?? '')} (term ${String(l.term)})`).join(', ')}`)
      const byState = new Map<string, number>()
      for (const e of queue) byState.set(e.state, (byState.get(e.state) ?? 0) + 1)
      const summary = [...byState].map(([s, n]) => `${n} ${s}`).join(', ') || 'empty'
      return `merge queue reachable (${summary}); leader ${short(leaders[0]?.leader ?? '')} (term ${String(leaders[0]?.term)}) on all ${up.length} nodes`
    }
  }

  const results: CheckResult[] = []
  for (const [i, name] of CHECKS.entries()) {
    if (!wanted.has(name)) continue
    let r: CheckResult
    try {
      r = { name, number: i + 1, ok: true, detail: await checks[name]() }
    } catch (err) {
      r = { name, number: i + 1, ok: false, detail: reason(err) }
    }
    results.push(r)
    init.onResult?.(r)
  }
  return results
}

/** One line per check, as the script prints them. */
export function formatResult (r: CheckResult): string {
  return `${r.ok ? 'ok  ' : 'FAIL'} ${r.number} ${r.name.padEnd(6)} ${r.detail}`
}
