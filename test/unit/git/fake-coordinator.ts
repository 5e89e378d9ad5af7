import { FencedError, type AgentCoordinator, type AgentInfo, type Claim, type Confirmation, type EvidenceItem, type HeldAssignment, type MergeRequest, type WorkTask } from '../../../node/agents/coordinator.js'

export interface FakeTask {
  task: WorkTask
  status: 'pending' | 'claimed' | 'review' | 'done' | 'failed'
  failures: number
}

export interface FakeAssignment {
  id: string
  taskId: string
  agentId: string
  state: 'pending' | 'confirmed' | 'completed' | 'failed' | 'released' | 'lost'
  progress: Array<{ percent: number, message: string | null }>
  evidence: EvidenceItem[]
  summary: string | null
  reason: string | null
}

/**
 * An in-memory AgentCoordinator that keeps the guarantees the interface documents: claims of
 * taken tasks give null, ended assignments are fenced, fail counts attempts (maxAttempts, then
 * failed), release does not.
 */
export class FakeCoordinator implements AgentCoordinator {
  readonly tasks = new Map<string, FakeTask>()
  readonly assignments = new Map<string, FakeAssignment>()
  readonly queue: MergeRequest[] = []
  readonly registered: AgentInfo[] = []
  heartbeats = 0
  /** Each heartbeat: when, and the assignment it renewed. */
  readonly beatTimes: Array<{ at: number, assignmentId: string | null }> = []
  maxAttempts = 2
  /** Decides each claim's confirmation; default confirmed. */
  confirm: (a: FakeAssignment) => Confirmation = () => 'confirmed'
  /** Throws from pickTask while > 0 (counting down), to exercise backoff. */
  pickErrors = 0
  /** Refuse every claim (null), as a node does whose agent still holds a task; counts the attempts. */
  refuseClaims = false
  claimAttempts = 0
  /** Calls to pickTask. */
  picks = 0
  /** Fence an assignment on its first progress call. */
  fenceOnProgress = false
  /** Called for every new merge request (a queue store can take it from here). */
  onEnqueue: (request: MergeRequest) => void = () => {}
  private seq = 0

  /** The task's branch merged: done. */
  markDone (taskId: string): void {
    this.task(taskId).status = 'done'
  }

  /** The task's branch ejected: pending again as a new attempt, the reason visible to the next agent. */
  reopen (taskId: string, reason: string): void {
    const t = this.task(taskId)
    t.task = { ...t.task, attempt: t.task.attempt + 1, reason }
    t.status = 'pending'
  }

  addTask (t: Partial<WorkTask> & { id: string }): void {
    this.tasks.set(t.id, {
      task: { title: `task ${t.id}`, description: `do ${t.id}`, acceptance: `${t.id} done`, role: 'backend', attempt: 1, reason: null, ...t },
      status: 'pending',
      failures: 0
    })
  }

  task (id: string): FakeTask {
    const t = this.tasks.get(id)
    if (t === undefined) throw new Error(`no task ${id}`)
    return t
  }

  of (taskId: string): FakeAssignment[] {
    return [...this.assignments.values()].filter(a => a.taskId === taskId)
  }

  private live (id: string): FakeAssignment {
    const a = this.assignments.get(id)
    if (a === undefined || (a.state !== 'confirmed' && a.state !== 'pending')) throw new FencedError(id, a?.state ?? 'unknown')
    return a
  }

  async register (agent: AgentInfo): Promise<void> {
    this.registered.push(agent)
  }

  /** Live assignments of the agent, as a node's document holds them after a crash. */
  async held (agent: AgentInfo): Promise<HeldAssignment[]> {
    return [...this.assignments.values()]
      .filter(a => a.agentId === agent.id && (a.state === 'pending' || a.state === 'confirmed'))
      .map(a => ({ assignmentId: a.id, taskId: a.taskId, queuedForMerge: a.state === 'confirmed' && this.queue.some(q => q.assignmentId === a.id) }))
  }

  /** Puts a live assignment of `agentId` into the fake, as if made before a crash. */
  holdFor (agentId: string, taskId: string, state: 'pending' | 'confirmed' = 'confirmed'): string {
    const id = `as-${++this.seq}`
    this.task(taskId).status = 'claimed'
    this.assignments.set(id, { id, taskId, agentId, state, progress: [], evidence: [], summary: null, reason: null })
    return id
  }

  async pickTask (agent: AgentInfo): Promise<WorkTask | null> {
    this.picks++
    if (this.pickErrors > 0) {
      this.pickErrors--
      throw new Error('document not loaded yet')
    }
    for (const t of this.tasks.values()) {
      if (t.status === 'pending' && t.task.role === agent.role) return { ...t.task }
    }
    return null
  }

  async claim (agent: AgentInfo, task: WorkTask): Promise<Claim | null> {
    this.claimAttempts++
    if (this.refuseClaims) {
      // Safety valve: a worker spinning on refusals would starve the test's own timers forever;
      // past this many attempts it yields, so the test fails on the count instead of hanging.
      if (this.claimAttempts > 10_000) await new Promise(resolve => setTimeout(resolve, 1))
      return null
    }
    const t = this.task(task.id)
    if (t.status !== 'pending' || t.task.attempt !== task.attempt) return null
    t.status = 'claimed'
    const id = `as-${++this.seq}`
    this.assignments.set(id, { id, taskId: task.id, agentId: agent.id, state: 'pending', progress: [], evidence: [], summary: null, reason: null })
    return { assignmentId: id }
  }

  async waitConfirmed (assignmentId: string): Promise<Confirmation> {
    const a = this.live(assignmentId)
    const c = this.confirm(a)
    a.state = c === 'confirmed' ? 'confirmed' : 'lost'
    if (c === 'lost') this.task(a.taskId).status = 'pending'
    return c
  }

  async heartbeat (_agentId: string, assignmentId: string | null): Promise<void> {
    this.heartbeats++
    this.beatTimes.push({ at: Date.now(), assignmentId })
  }

  async progress (assignmentId: string, percent: number, message: string | null): Promise<void> {
    const a = this.live(assignmentId)
    if (this.fenceOnProgress) {
      a.state = 'lost'
      throw new FencedError(assignmentId, 'lost', `assignment ${assignmentId} fenced: lost to another claim`)
    }
    a.progress.push({ percent, message })
  }

  async submitEvidence (assignmentId: string, items: EvidenceItem[]): Promise<void> {
    this.live(assignmentId).evidence.push(...items)
  }

  async enqueueMerge (request: MergeRequest): Promise<void> {
    this.live(request.assignmentId)
    if (this.queue.some(q => q.assignmentId === request.assignmentId)) return
    this.queue.push(request)
    this.onEnqueue(request)
  }

  async complete (assignmentId: string, summary: string): Promise<void> {
    const a = this.live(assignmentId)
    a.state = 'completed'
    a.summary = summary
    this.task(a.taskId).status = 'review'
  }

  async fail (assignmentId: string, reason: string): Promise<void> {
    const a = this.live(assignmentId)
    a.state = 'failed'
    a.reason = reason
    const t = this.task(a.taskId)
    t.failures++
    t.task = { ...t.task, attempt: t.task.attempt + 1, reason }
    t.status = t.failures >= this.maxAttempts ? 'failed' : 'pending'
  }

  async release (assignmentId: string, reason: string): Promise<void> {
    const a = this.live(assignmentId)
    a.state = 'released'
    a.reason = reason
    const t = this.task(a.taskId)
    t.task = { ...t.task, attempt: t.task.attempt + 1 }
    t.status = 'pending'
  }
}
