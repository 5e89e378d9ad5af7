import { createHash } from 'node:crypto'
import { ApiError } from '../cli/client.js'
import { sleep } from '../../bootstrap/backoff.js'
import { pickFields } from '../../crdt/task-fields.js'
import { FencedError, WORK_TASK_FIELDS, type AgentCoordinator, type AgentInfo, type Claim, type Confirmation, type EvidenceItem, type HeldAssignment, type MergeRequest, type WorkTask } from './coordinator.js'
import { clipEvidence } from './evidence-text.js'
import { AllNodesDownError, AmbiguousRequestError, type FailoverClient } from './failover-client.js'

/** How often a waiting agent polls its claim. */
export const DEFAULT_CONFIRM_POLL_MS = 250
/**
 * A claim still pending after this long is given back: the node that made it died before
 * confirming it (only that node's settler confirms it), so waiting longer cannot help.
 */
export const DEFAULT_CONFIRM_TIMEOUT_MS = 30_000

export interface HttpCoordinatorInit {
  client: FailoverClient
  /**
   * This process's id for its agents: a node refuses to register the agent for another process
   * while this one heartbeats, and fences this one (409 on its heartbeat) once another took over.
   */
  instance: string
  /** Default DEFAULT_CONFIRM_POLL_MS. */
  confirmPollMs?: number
  /** Default DEFAULT_CONFIRM_TIMEOUT_MS. */
  confirmTimeoutMs?: number
  /** Called when a node says another process now runs the agent: this one must stop. */
  onReplaced?: (agentId: string, message: string) => void
}

interface AssignmentJson { id: string, taskId: string, agentId: string, state: string }
interface EvidenceJson { assignmentId: string, kind: string, sha256: string }
interface MergeEntryJson { assignmentId: string, state: string }

const ENDED = new Set(['lost', 'expired', 'released', 'failed', 'completed'])

const enc = encodeURIComponent

/** A 409 that says the assignment is no longer live (the API's FencedError carries its state). */
function fencedState (err: unknown): string | null {
  if (!(err instanceof ApiError) || err.status !== 409) return null
  const d = err.details as { state?: unknown } | null
  return d !== null && typeof d === 'object' && typeof d.state === 'string' ? d.state : null
}

/**
 * The coordinator of a `fleet agent` process: the same contract as the in-process one, over the
 * HTTP API of any node (FailoverClient). Every call is safe to repeat through another node after
 * a failure: writes are checked against what the cluster already holds (an assignment already
 * completed counts as completed, evidence already recorded is not recorded twice), and a claim
 * whose answer was lost is looked up before anything else is claimed. The writes that finish a
 * task wait for a node to come back rather than give up work that is done.
 */
export class HttpCoordinator implements AgentCoordinator {
  private readonly client: FailoverClient
  private readonly pollMs: number
  private readonly confirmTimeoutMs: number
  /** Highest progress sent per assignment (progress never goes back). */
  private readonly sent = new Map<string, number>()

  constructor (private readonly init: HttpCoordinatorInit) {
    this.client = init.client
    this.pollMs = init.confirmPollMs ?? DEFAULT_CONFIRM_POLL_MS
    this.confirmTimeoutMs = init.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS
  }

  async register (agent: AgentInfo): Promise<void> {
    await this.client.request('POST', '/api/agents', { id: agent.id, name: agent.name, role: agent.role, capabilities: agent.capabilities, instance: this.init.instance }, { idempotent: true })
  }

  /** Live assignments of the agent anywhere in the cluster: after a restart, left over from the last run. */
  async held (agent: AgentInfo): Promise<HeldAssignment[]> {
    const mine = await this.client.get<AssignmentJson[]>(`/api/agents/${enc(agent.id)}/assignments`)
    const live = mine.filter(a => a.state === 'pending' || a.state === 'confirmed')
    if (live.length === 0) return []
    const queue = await this.client.get<MergeEntryJson[]>('/api/git/merge-queue')
    return live.map(a => ({ assignmentId: a.id, taskId: a.taskId, queuedForMerge: a.state === 'confirmed' && queue.some(e => e.assignmentId === a.id && e.state !== 'ejected') }))
  }

  async pickTask (agent: AgentInfo): Promise<WorkTask | null> {
    const [t] = await this.client.get<WorkTask[]>(`/api/tasks/available?role=${enc(agent.role)}&limit=1`)
    return t === undefined ? null : pickFields(t, WORK_TASK_FIELDS)
  }

  async claim (agent: AgentInfo, task: WorkTask): Promise<Claim | null> {
    try {
      const a = await this.client.request<AssignmentJson>('POST', '/api/assignments', { taskId: task.id, agentId: agent.id }, { idempotent: false })
      return { assignmentId: a.id }
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 404 || err.status === 503)) return null
      if (err instanceof AmbiguousRequestError) {
        // The node may have written the claim before it failed: adopt it if the cluster has it,
        // rather than claim a second time. If it has not arrived yet, refuse and pick again later.
        const mine = await this.client.get<AssignmentJson[]>(`/api/agents/${enc(agent.id)}/assignments`)
        const found = mine.find(a => a.taskId === task.id && (a.state === 'pending' || a.state === 'confirmed'))
        return found === undefined ? null : { assignmentId: found.id }
      }
      throw err
    }
  }

  async waitConfirmed (assignmentId: string, signal: AbortSignal): Promise<Confirmation> {
    const deadline = Date.now() + this.confirmTimeoutMs
    while (!signal.aborted) {
      try {
        const a = await this.client.get<AssignmentJson>(`/api/assignments/${enc(assignmentId)}`, { signal })
        if (a.state === 'confirmed') return 'confirmed'
        if (ENDED.has(a.state)) return 'lost'
      } catch (err) {
        // 404: the node we now ask has not received the claim yet; no node: keep waiting.
        if (!(err instanceof AllNodesDownError) && !(err instanceof ApiError && err.status === 404)) throw err
      }
      if (Date.now() > deadline) {
        await this.release(assignmentId, `claim not confirmed within ${Math.round(this.confirmTimeoutMs / 1000)} s`).catch(() => undefined)
        return 'lost'
      }
      await sleep(this.pollMs, signal)
    }
    return 'lost'
  }

  async heartbeat (agentId: string, assignmentId: string | null): Promise<void> {
    try {
      await this.client.request('PUT', `/api/agents/${enc(agentId)}/heartbeat`, { assignmentId, instance: this.init.instance }, { idempotent: true })
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && (err.details as { code?: unknown } | null)?.code === 'agent-replaced') {
        this.init.onReplaced?.(agentId, err.message)
      }
      throw err
    }
  }

  async progress (assignmentId: string, percent: number, message: string | null): Promise<void> {
    const p = Math.max(this.sent.get(assignmentId) ?? 0, Math.min(100, Math.round(percent)))
    if (p === this.sent.get(assignmentId) && message === null) return
    try {
      await this.client.request('PUT', `/api/assignments/${enc(assignmentId)}/progress`, { percent: p, ...(message === null ? {} : { message: message.slice(0, 2000) }) }, { idempotent: true })
      this.sent.set(assignmentId, p)
    } catch (err) {
      const state = fencedState(err)
      if (state !== null) throw new FencedError(assignmentId, state)
      // Another 409 (the node already holds a higher value) or a node that lacks the assignment
      // yet: progress is best effort, the next report carries the latest value.
      if (err instanceof ApiError && (err.status === 409 || err.status === 404)) return
      throw err
    }
  }

  async submitEvidence (assignmentId: string, items: EvidenceItem[]): Promise<void> {
    const a = await this.assignment(assignmentId)
    const clipped = items.map(i => ({ kind: i.kind, content: clipEvidence(i.content) }))
    for (;;) {
      // What the cluster already holds is not sent again (a retry after a node failed mid-way).
      const have = await this.client.get<EvidenceJson[]>(`/api/evidence/task/${enc(a.taskId)}`, { untilAnswered: true })
      const seen = new Set(have.filter(e => e.assignmentId === assignmentId).map(e => `${e.kind}:${e.sha256}`))
      try {
        for (const item of clipped) {
          if (seen.has(`${item.kind}:${sha256(item.content)}`)) continue
          await this.write('POST', '/api/evidence', { taskId: a.taskId, assignmentId, kind: item.kind, content: item.content }, assignmentId, false)
        }
        return
      } catch (err) {
        if (!(err instanceof AmbiguousRequestError)) throw err
      }
    }
  }

  async enqueueMerge (req: MergeRequest): Promise<void> {
    // The node answers an entry already queued for this assignment and branch with that entry.
    await this.write('POST', '/api/git/merge-queue', { taskId: req.taskId, assignmentId: req.assignmentId, branch: req.branch, commit: req.commit }, req.assignmentId, true)
  }

  async complete (assignmentId: string, summary: string): Promise<void> {
    await this.end(assignmentId, 'complete', { summary: summary.slice(0, 20_000) }, 'completed')
  }

  async fail (assignmentId: string, reason: string): Promise<void> {
    await this.end(assignmentId, 'fail', { reason: reason.slice(0, 20_000) || 'failed' }, 'failed')
  }

  /** Not retried while every node is down (shutdown must not hang): the lease returns the task then. */
  async release (assignmentId: string, reason: string): Promise<void> {
    await this.end(assignmentId, 'release', reason === '' ? {} : { reason: reason.slice(0, 2000) }, 'released', false)
  }

  private async assignment (id: string): Promise<AssignmentJson> {
    try {
      return await this.client.get<AssignmentJson>(`/api/assignments/${enc(id)}`, { untilAnswered: true })
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw new FencedError(id, 'unknown', `assignment ${id} fenced: unknown to the node`)
      throw err
    }
  }

  /** Ends the assignment; if a node already recorded this very end (a retry), that is success. */
  private async end (id: string, action: string, body: object, endState: string, untilAnswered = true): Promise<void> {
    try {
      await this.write('PUT', `/api/assignments/${enc(id)}/${action}`, body, id, true, untilAnswered)
    } catch (err) {
      if (err instanceof FencedError && (await this.client.get<AssignmentJson>(`/api/assignments/${enc(id)}`).catch(() => null))?.state === endState) return
      throw err
    }
    this.sent.delete(id)
  }

  /** A write for an assignment: waits for a node while all are down; 409 "not live" is FencedError. */
  private async write (method: string, path: string, body: unknown, assignmentId: string, idempotent: boolean, untilAnswered = true): Promise<void> {
    try {
      await this.client.request(method, path, body, { idempotent, untilAnswered })
    } catch (err) {
      const state = fencedState(err)
      if (state !== null) throw new FencedError(assignmentId, state)
      throw err
    }
  }
}

function sha256 (s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex')
}
