import type { Logger } from '../logger.js'
import type { GitRepo } from '../git/repo.js'
import { WorktreeManager } from '../git/worktrees.js'
import type { AgentCoordinator } from './coordinator.js'
import { Executor } from './executor.js'
import type { AgentSpec } from './spec.js'
import { AgentWorker, type AgentWorkerInit, type WorkerPhase, type WorkerStats } from './worker.js'

export interface AgentPoolInit {
  repo: GitRepo
  /** Agent worktrees live at `<worktreeRoot>/<agent name>`; the node passes `<data dir>/worktrees`. */
  worktreeRoot: string
  agents: AgentSpec[]
  /** `--executor`: a shell command, or "demo". */
  executor: string
  /** Default DEFAULT_EXECUTOR_TIMEOUT_MS. */
  executorTimeoutMs?: number
  coordinator: AgentCoordinator
  logger: Logger
  /** Loop timing and policy shared by all agents (defaults of worker.ts). */
  worker?: Pick<AgentWorkerInit, 'heartbeatMs' | 'idleMs' | 'idleMaxMs' | 'claimBackoff' | 'backoff' | 'allowEmpty'>
}

export interface AgentStatus {
  agentId: string
  role: string
  phase: WorkerPhase
  taskId: string | null
  assignmentId: string | null
  stats: WorkerStats
}

/** The agents a node runs (`--agent NAME:ROLE`), sharing its clone through their own worktrees. */
export class AgentPool {
  readonly workers: AgentWorker[]
  private readonly repo: GitRepo

  constructor (init: AgentPoolInit) {
    this.repo = init.repo
    const worktrees = new WorktreeManager({ repo: init.repo, root: init.worktreeRoot })
    const executor = new Executor({ command: init.executor, ...(init.executorTimeoutMs === undefined ? {} : { timeoutMs: init.executorTimeoutMs }) })
    this.workers = init.agents.map((a) => new AgentWorker({
      agent: { id: a.name, name: a.name, role: a.role, capabilities: [] },
      coordinator: init.coordinator,
      worktrees,
      executor,
      logger: init.logger,
      ...init.worker
    }))
  }

  /** Checks the clone (RepoError says what is wrong) and starts every agent. */
  async start (): Promise<void> {
    if (this.workers.length === 0) return
    await this.repo.check()
    for (const w of this.workers) w.start()
  }

  /** New work may be available: idle agents look now. */
  poke (): void {
    for (const w of this.workers) w.poke()
  }

  /** Stops every agent; each releases the task in hand. */
  async stop (): Promise<void> {
    await Promise.all(this.workers.map(async (w) => await w.stop()))
  }

  status (): AgentStatus[] {
    return this.workers.map((w) => ({
      agentId: w.agent.id,
      role: w.agent.role,
      phase: w.phase,
      taskId: w.currentTask?.taskId ?? null,
      assignmentId: w.currentTask?.assignmentId ?? null,
      stats: { ...w.stats }
    }))
  }
}
