import { join } from 'node:path'
import type { DocChangeEvent, DocStore } from '../crdt/doc-store.js'
import { heartbeatIntervalFor } from '../crdt/rules/leases.js'
import { LocalCoordinator } from './agents/local-coordinator.js'
import { AgentPool } from './agents/pool.js'
import type { AgentSpec } from './agents/spec.js'
import type { LeaderService } from './coord/leader.js'
import { DocMergeStore } from './git/doc-merge-store.js'
import { MergeLeader } from './git/merge-leader.js'
import { MergeRunner, type MergeEntry } from './git/merge-runner.js'
import { deleteMergedBranch } from './git/tidy.js'
import { GitRepo } from './git/repo.js'
import type { Logger } from './logger.js'
import type { Services } from './services/index.js'

/** What a node works with: its git clone, the agents it runs, how they work and how merges are checked. */
export interface WorkInit {
  /** The node's clone (`--repo`); without it the node runs no agents and never leads merges. */
  repo: string
  remote?: string
  mainBranch?: string
  agents: AgentSpec[]
  /** `--executor`: a shell command, or "demo". */
  executor: string
  executorTimeoutMs?: number
  /** `--check`: run on each merge result before it is pushed. */
  check?: string | null
  checkTimeoutMs?: number
  /** `--keep-branches`: leave `fleet/<taskId>` on the remote after its merge (default false: deleted). */
  keepBranches?: boolean
}

export interface NodeWorkInit {
  work: WorkInit
  dataDir: string
  selfId: string
  store: DocStore
  services: Services
  leader: LeaderService
  isLive: (nodeId: string) => boolean
  /** The leadership term: a live former leader's unfinished merge is taken over after one. */
  termMs: number
  /** The cluster's lease: agents heartbeat at least three times per lease (heartbeatIntervalFor). */
  leaseMs: number
  logger: Logger
  /** Counts merges this node made or ejected (metrics). */
  onMergeOutcome?: (outcome: 'merged' | 'ejected') => void
}

/**
 * The agents of this node and its share of the merge queue: agents run in their own worktrees of
 * the node's clone; the merge leader drains the queue only while this node leads the term.
 */
export class NodeWork {
  readonly pool: AgentPool
  readonly mergeLeader: MergeLeader
  private readonly repo: GitRepo
  private readonly init: NodeWorkInit
  // Listeners added by start() and removed by stop().
  private readonly onLeader = (): void => { this.mergeLeader.poke() }
  private readonly onChange = (e: DocChangeEvent): void => {
    if (e.patches.some(p => p.path[0] === 'mergeQueue')) this.mergeLeader.poke()
    // A task changed (done, reopened, imported): idle agents look now rather than after their backoff.
    if (e.patches.some(p => p.path[0] === 'taskState' || p.path[0] === 'tasks')) this.pool.poke()
  }

  constructor (init: NodeWorkInit) {
    const { work, services, logger } = init
    const repo = new GitRepo({
      path: work.repo,
      ...(work.remote === undefined ? {} : { remote: work.remote }),
      ...(work.mainBranch === undefined ? {} : { mainBranch: work.mainBranch }),
      identity: { name: 'fleet merge queue', email: `${init.selfId}@fleet.invalid` }
    })
    this.repo = repo
    this.pool = new AgentPool({
      repo,
      worktreeRoot: join(init.dataDir, 'worktrees'),
      agents: work.agents,
      executor: work.executor,
      ...(work.executorTimeoutMs === undefined ? {} : { executorTimeoutMs: work.executorTimeoutMs }),
      coordinator: new LocalCoordinator({ store: init.store, services, nodeId: init.selfId }),
      logger: logger.child({ c: 'agents' }),
      worker: { heartbeatMs: heartbeatIntervalFor(init.leaseMs) }
    })
    const runner = new MergeRunner({
      repo,
      scratchDir: join(init.dataDir, 'merges'),
      check: work.check ?? null,
      ...(work.checkTimeoutMs === undefined ? {} : { checkTimeoutMs: work.checkTimeoutMs }),
      logger: logger.child({ c: 'merge' })
    })
    this.mergeLeader = new MergeLeader({
      runner,
      store: new DocMergeStore({ mergeQueue: services.mergeQueue, projection: services.projection, selfId: init.selfId, isLive: init.isLive, takeOverAfterMs: init.termMs, logger }),
      isLeader: () => init.leader.isLeader(),
      logger: logger.child({ c: 'merge-leader' }),
      onOutcome: (entry, outcome) => {
        init.onMergeOutcome?.(outcome.state)
        // Merged: the branch has served its purpose. Ejected: kept, the next attempt may want it.
        if (outcome.state === 'merged' && work.keepBranches !== true) this.tidy(repo, entry, logger)
      }
    })
    this.init = init
  }

  /** Checks the clone (RepoError names the problem) and starts the agents and the merge leader. */
  async start (): Promise<void> {
    // Also without agents: the merge leader works in the clone too.
    await this.repo.check()
    this.init.leader.on('change', this.onLeader)
    this.init.store.on('change', this.onChange)
    await this.pool.start()
    this.mergeLeader.start()
  }

  /** Agents give their tasks back and the leader stops mid-merge safely; call before closing the store. */
  async stop (): Promise<void> {
    this.init.leader.off('change', this.onLeader)
    this.init.store.off('change', this.onChange)
    await Promise.all([this.pool.stop(), this.mergeLeader.stop()])
    await this.tidying
  }

  /** Branch deletions run one after another beside the merge loop; a failure only costs a leftover branch. */
  private tidying: Promise<void> = Promise.resolve()
  private tidy (repo: GitRepo, entry: MergeEntry, logger: Logger): void {
    this.tidying = this.tidying.then(async () => {
      const r = await deleteMergedBranch(repo, entry)
      logger.debug({ branch: entry.branch, result: r }, 'merged branch tidied')
    }).catch((err: unknown) => { logger.warn({ err, branch: entry.branch }, 'could not delete a merged branch from the remote') })
  }
}
