import type { AssignmentView } from '../../crdt/projection.js'
import type { DocStore } from '../../crdt/doc-store.js'
import { ClaimRefusedError, NotCaughtUpError, NotFoundError } from '../../crdt/errors.js'
import type { Services } from '../services/index.js'
import { pickFields } from '../../crdt/task-fields.js'
import { WORK_TASK_FIELDS, type AgentCoordinator, type AgentInfo, type Claim, type Confirmation, type EvidenceItem, type HeldAssignment, type MergeRequest, type WorkTask } from './coordinator.js'
import { clipEvidence } from './evidence-text.js'

/** How often a waiting agent re-reads its claim when no change arrives (changes wake it at once). */
export const DEFAULT_CONFIRM_POLL_MS = 200

export interface LocalCoordinatorInit {
  store: DocStore
  services: Services
  /** This node's id: only assignments made here are taken back on an agent's start. */
  nodeId: string
}

const ENDED = new Set<AssignmentView['state']>(['lost', 'expired', 'released', 'failed', 'completed'])

/**
 * The agents inside a node use the node's own services directly (the same rules and fencing as
 * the HTTP API, without the HTTP round trip).
 */
export class LocalCoordinator implements AgentCoordinator {
  constructor (private readonly init: LocalCoordinatorInit) {}

  async register (agent: AgentInfo): Promise<void> {
    await this.init.services.agents.register({ id: agent.id, name: agent.name, role: agent.role, capabilities: agent.capabilities })
  }

  async held (agent: AgentInfo): Promise<HeldAssignment[]> {
    const { services, nodeId } = this.init
    // Once per agent start, so reading the agent's assignments and the queue in full is fine.
    const live = services.assignments.forAgent(agent.id).filter(a => a.nodeId === nodeId && (a.state === 'pending' || a.state === 'confirmed'))
    if (live.length === 0) return []
    const queue = services.mergeQueue.list()
    return live.map(a => ({
      assignmentId: a.id,
      taskId: a.taskId,
      queuedForMerge: a.state === 'confirmed' && queue.some(e => e.assignmentId === a.id && e.state !== 'ejected')
    }))
  }

  async pickTask (agent: AgentInfo): Promise<WorkTask | null> {
    const t = this.init.services.tasks.next(agent.role)
    return t === undefined ? null : pickFields(t, WORK_TASK_FIELDS)
  }

  async claim (agent: AgentInfo, task: WorkTask): Promise<Claim | null> {
    try {
      const a = await this.init.services.assignments.claim({ taskId: task.id, agentId: agent.id })
      return { assignmentId: a.id }
    } catch (err) {
      // Taken meanwhile, not available, the agent still holds a task, the task or agent is
      // unknown here, or this node is still catching up: refused, and the worker backs off
      // before it picks again. Anything else (a full disk...) is the worker's transient failure.
      if (err instanceof ClaimRefusedError || err instanceof NotCaughtUpError || err instanceof NotFoundError) return null
      throw err
    }
  }

  async waitConfirmed (assignmentId: string, signal: AbortSignal): Promise<Confirmation> {
    const { store, services } = this.init
    return await new Promise<Confirmation>((resolve) => {
      const check = (): boolean => {
        const a = services.projection.get().assignments.get(assignmentId)
        if (signal.aborted || a === undefined || ENDED.has(a.state)) { done('lost'); return true }
        if (a.state === 'confirmed') { done('confirmed'); return true }
        return false
      }
      const onChange = (): void => { check() }
      const timer = setInterval(onChange, DEFAULT_CONFIRM_POLL_MS)
      const done = (c: Confirmation): void => {
        clearInterval(timer)
        store.off('change', onChange)
        signal.removeEventListener('abort', onChange)
        resolve(c)
      }
      store.on('change', onChange)
      signal.addEventListener('abort', onChange)
      check()
    })
  }

  async heartbeat (agentId: string, assignmentId: string | null): Promise<void> {
    this.init.services.agents.beat(agentId, { assignmentId })
  }

  async progress (assignmentId: string, percent: number, message: string | null): Promise<void> {
    const a = this.init.services.assignments.get(assignmentId)
    // Progress only goes forward; a lower report (e.g. a restarted step) is not an error.
    if (Math.round(percent) <= a.progress && message === null) return
    await this.init.services.assignments.progress(assignmentId, { percent: Math.max(a.progress, Math.min(100, Math.round(percent))), ...(message === null ? {} : { message: message.slice(0, 2000) }) })
  }

  async submitEvidence (assignmentId: string, items: EvidenceItem[]): Promise<void> {
    const a = this.init.services.assignments.get(assignmentId)
    for (const item of items) {
      await this.init.services.evidence.add({ taskId: a.taskId, assignmentId, kind: item.kind, content: clipEvidence(item.content) })
    }
  }

  async enqueueMerge (req: MergeRequest): Promise<void> {
    await this.init.services.mergeQueue.enqueue({ taskId: req.taskId, assignmentId: req.assignmentId, branch: req.branch, commit: req.commit })
  }

  async complete (assignmentId: string, summary: string): Promise<void> {
    await this.init.services.assignments.complete(assignmentId, { summary: summary.slice(0, 20_000) })
  }

  async fail (assignmentId: string, reason: string): Promise<void> {
    await this.init.services.assignments.fail(assignmentId, { reason: reason.slice(0, 20_000) || 'failed' })
  }

  async release (assignmentId: string, reason: string): Promise<void> {
    // As over HTTP (HttpCoordinator sends no reason then): an empty reason adds nothing to the record.
    await this.init.services.assignments.release(assignmentId, reason === '' ? undefined : reason.slice(0, 2000))
  }
}
