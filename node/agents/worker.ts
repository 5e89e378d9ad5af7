import type { Logger } from '../logger.js'
import { InvalidBranchError, branchForTask, safeDirName } from '../git/branches.js'
import { gitErrorText, type GitIdentity } from '../git/git.js'
import type { AgentWorktree, WorktreeManager } from '../git/worktrees.js'
import { backoffDelay, sleep, type BackoffInit } from './backoff.js'
import { describeEnd } from './command.js'
import { isFencedError, type AgentCoordinator, type AgentInfo, type EvidenceItem, type WorkTask } from './coordinator.js'
import type { Executor, ExecutionResult } from './executor.js'

/** Heartbeat interval (the earlier agents' 30 s). */
export const DEFAULT_HEARTBEAT_MS = 30_000
/** How long an idle agent waits before looking for a task again. */
export const DEFAULT_IDLE_MS = 1000
/** At most one progress write per this interval (the latest value wins), to keep the document small. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 1000
/** Tries of each coordinator write after the work is done before giving the task back. */
export const DEFAULT_CALL_ATTEMPTS = 4
/** How much of the executor's output goes into the log evidence. */
export const EVIDENCE_OUTPUT_CHARS = 4000

export interface AgentWorkerInit {
  agent: AgentInfo
  coordinator: AgentCoordinator
  worktrees: WorktreeManager
  executor: Executor
  logger: Logger
  /** Default DEFAULT_HEARTBEAT_MS. */
  heartbeatMs?: number
  /** Default DEFAULT_IDLE_MS. */
  idleMs?: number
  /** Default DEFAULT_PROGRESS_INTERVAL_MS. */
  progressIntervalMs?: number
  /** Backoff after errors (defaults of backoff.ts: 1 s doubling to 60 s, with jitter). */
  backoff?: BackoffInit
  /**
   * When the executor exits 0 but changes nothing: false (default) fails the attempt ("changed
   * nothing"); true commits an empty commit so the task still goes through the merge queue.
   */
  allowEmpty?: boolean
}

/** What an agent is doing, for status displays and metrics. */
export type WorkerPhase = 'stopped' | 'idle' | 'claiming' | 'working' | 'publishing' | 'backoff'

export interface WorkerStats {
  completed: number
  failed: number
  released: number
  lost: number
  errors: number
}

/** How a task attempt ended for this worker. */
type Outcome = 'completed' | 'failed' | 'released' | 'lost'

/** A git or coordinator problem that is not the task's fault: give the task back, back off. */
class TransientError extends Error {
  override name = 'TransientError'
}

/**
 * One agent's loop: pick the best task for its role, claim it, wait for the claim to be confirmed,
 * work on `fleet/<taskId>` in its own worktree from the latest remote main, commit, push, record
 * evidence, queue the branch for merge, complete; then the next task. stop() releases the task in
 * hand, so shutdown never loses one.
 *
 * Failures are split by whose fault they are: the executor failing, committing nothing, or a
 * commit hook refusing fail the attempt (counted, the coordinator decides retry or failed);
 * git/network/coordinator trouble releases the task (not counted) and backs off with jitter.
 * A FencedError drops the task at once: someone else owns it now.
 */
export class AgentWorker {
  readonly agent: AgentInfo
  private readonly coordinator: AgentCoordinator
  private readonly worktrees: WorktreeManager
  private readonly executor: Executor
  private readonly log: Logger
  private readonly heartbeatMs: number
  private readonly idleMs: number
  private readonly progressIntervalMs: number
  private readonly backoff: BackoffInit
  private readonly allowEmpty: boolean
  private controller: AbortController | null = null
  private loop: Promise<void> | null = null
  private current: { taskId: string, assignmentId: string } | null = null
  private _phase: WorkerPhase = 'stopped'
  readonly stats: WorkerStats = { completed: 0, failed: 0, released: 0, lost: 0, errors: 0 }

  constructor (init: AgentWorkerInit) {
    this.agent = init.agent
    this.coordinator = init.coordinator
    this.worktrees = init.worktrees
    this.executor = init.executor
    this.log = init.logger.child({ agent: init.agent.id })
    this.heartbeatMs = init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
    this.idleMs = init.idleMs ?? DEFAULT_IDLE_MS
    this.progressIntervalMs = init.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS
    this.backoff = init.backoff ?? {}
    this.allowEmpty = init.allowEmpty ?? false
  }

  get phase (): WorkerPhase {
    return this._phase
  }

  /** The task in hand, if any. */
  get currentTask (): { taskId: string, assignmentId: string } | null {
    return this.current
  }

  start (): void {
    if (this.loop !== null) return
    const controller = new AbortController()
    this.controller = controller
    this.loop = this.run(controller.signal).catch((err: unknown) => {
      // run() catches per iteration; reaching here is a bug, not a task failure.
      this.log.error({ err }, 'agent loop crashed')
    })
  }

  /** Stops the loop: kills a running executor, releases the task in hand, removes the worktree. */
  async stop (): Promise<void> {
    this.controller?.abort()
    await this.loop
    this.loop = null
    this.controller = null
  }

  private async run (signal: AbortSignal): Promise<void> {
    const heartbeat = setInterval(() => {
      this.coordinator.heartbeat(this.agent.id, this.current?.assignmentId ?? null)
        .catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed'))
    }, this.heartbeatMs)
    let failures = 0
    try {
      while (!signal.aborted) {
        try {
          await this.coordinator.register(this.agent)
          break
        } catch (err) {
          failures++
          this.log.warn({ err }, 'agent registration failed; retrying')
          await this.pause(failures, signal)
        }
      }
      failures = 0
      while (!signal.aborted) {
        try {
          this._phase = 'idle'
          const busy = await this.once(signal)
          failures = 0
          if (!busy) await sleep(this.idleMs, signal)
        } catch (err) {
          failures++
          this.stats.errors++
          this.log.warn({ err, failures }, 'agent step failed; backing off')
          await this.pause(failures, signal)
        }
      }
    } finally {
      clearInterval(heartbeat)
      this._phase = 'stopped'
    }
  }

  private async pause (failures: number, signal: AbortSignal): Promise<void> {
    this._phase = 'backoff'
    await sleep(backoffDelay(failures, this.backoff), signal)
  }

  /** One pick-claim-work round. false when there was nothing to do. */
  private async once (signal: AbortSignal): Promise<boolean> {
    const task = await this.coordinator.pickTask(this.agent)
    if (task === null) return false
    this._phase = 'claiming'
    const claim = await this.coordinator.claim(this.agent, task)
    if (claim === null) return true
    const a = claim.assignmentId
    this.current = { taskId: task.id, assignmentId: a }
    try {
      let confirmation
      try {
        confirmation = await this.coordinator.waitConfirmed(a, signal)
      } catch (err) {
        if (!signal.aborted) {
          await this.release(a, `agent ${this.agent.id}: ${err instanceof Error ? err.message : String(err)}`)
          throw err
        }
      }
      if (signal.aborted) {
        await this.release(a, 'agent shutting down')
        return true
      }
      if (confirmation === 'lost') {
        this.stats.lost++
        this.log.info({ task: task.id, assignment: a }, 'claim lost to another agent')
        return true
      }
      // work() gives the task back itself on every path that does not finish it.
      this.stats[await this.work(task, a, signal)]++
      return true
    } finally {
      this.current = null
    }
  }

  /** Works one confirmed assignment to its end. Throws (after releasing) on transient trouble. */
  private async work (task: WorkTask, a: string, stopSignal: AbortSignal): Promise<Outcome> {
    this._phase = 'working'
    // Aborted on shutdown and when the assignment turns out fenced.
    const job = new AbortController()
    const onStop = (): void => job.abort()
    stopSignal.addEventListener('abort', onStop, { once: true })
    const progress = new ProgressReporter(this.coordinator, a, this.progressIntervalMs, this.log, () => job.abort())
    let wt: AgentWorktree | null = null
    try {
      let branch: string
      try {
        branch = branchForTask(task.id)
      } catch (err) {
        if (err instanceof InvalidBranchError) return await this.fail(a, task, err.message)
        throw err
      }
      wt = await this.step('create worktree', async () => await this.worktrees.create(this.agent.id, task.id, job.signal))
      progress.report(0, `started on ${branch} from main ${wt.base.slice(0, 7)}`)
      const result = await this.executor.run(task, { branch, agentId: this.agent.id, base: wt.base }, {
        cwd: wt.path,
        signal: job.signal,
        onProgress: (p) => progress.report(p.percent, p.message)
      })
      if (progress.fenced) return this.lost(task, a)
      if (stopSignal.aborted) return await this.release(a, 'agent shutting down')
      if (!result.ok) return await this.fail(a, task, result.reason ?? 'executor failed')
      await progress.flush()
      if (progress.fenced) return this.lost(task, a)

      this._phase = 'publishing'
      let head: string | null
      try {
        head = await this.worktrees.commitAll(wt, commitMessage(task, this.agent), { author: agentIdentity(this.agent), allowEmpty: this.allowEmpty })
      } catch (err) {
        // A commit hook refusing the change is the work's fault, like a failing executor.
        return await this.fail(a, task, `commit failed: ${gitErrorText(err)}`)
      }
      if (head === null) return await this.fail(a, task, 'the executor exited 0 but changed nothing')
      const diffStat = await this.step('diff stat', async () => await this.worktrees.diffStat(wt as AgentWorktree, head))
      if (stopSignal.aborted) return await this.release(a, 'agent shutting down')
      const pushed = await this.step('push branch', async () => await this.worktrees.push(wt as AgentWorktree, head, job.signal))
      if (pushed.replaced !== null) this.log.info({ task: task.id, replaced: pushed.replaced }, 'replaced an earlier attempt\'s branch')
      if (stopSignal.aborted) return await this.release(a, 'agent shutting down')

      await this.call('submit evidence', async () => await this.coordinator.submitEvidence(a, evidenceFor(head, branch, wt as AgentWorktree, diffStat, result)))
      await this.call('enqueue merge', async () => await this.coordinator.enqueueMerge({ taskId: task.id, assignmentId: a, branch, commit: head }))
      // Once queued, finish even during shutdown: completing is one local write.
      const summary = `${head.slice(0, 7)} on ${branch}: ${lastLine(diffStat) || 'no file changes'}; queued for merge`
      await this.call('complete', async () => await this.coordinator.complete(a, summary))
      this.log.info({ task: task.id, assignment: a, commit: head }, 'task completed, queued for merge')
      return 'completed'
    } catch (err) {
      if (isFencedError(err)) return this.lost(task, a)
      if (stopSignal.aborted) return await this.release(a, 'agent shutting down')
      await this.release(a, `agent ${this.agent.id}: ${err instanceof Error ? err.message : String(err)}`)
      throw err
    } finally {
      stopSignal.removeEventListener('abort', onStop)
      progress.close()
      if (wt !== null) {
        await this.worktrees.remove(wt).catch((err: unknown) => this.log.warn({ err, path: wt?.path }, 'could not remove worktree'))
      }
    }
  }

  /** Runs a git step; its failure is transient (the task goes back, the agent backs off). */
  private async step<T> (what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw new TransientError(`${what} failed: ${gitErrorText(err)}`, { cause: err })
    }
  }

  /** A coordinator write after the work is done: retried with backoff a few times; FencedError passes through. */
  private async call (what: string, fn: () => Promise<void>): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await fn()
        return
      } catch (err) {
        if (isFencedError(err) || i >= DEFAULT_CALL_ATTEMPTS) throw err
        this.log.warn({ err, attempt: i }, `${what} failed; retrying`)
        await sleep(backoffDelay(i, this.backoff))
      }
    }
  }

  private async fail (a: string, task: WorkTask, reason: string): Promise<Outcome> {
    this.log.info({ task: task.id, assignment: a, reason }, 'attempt failed')
    try {
      await this.call('fail', async () => await this.coordinator.fail(a, reason))
    } catch (err) {
      if (isFencedError(err)) return this.lost(task, a)
      throw err
    }
    return 'failed'
  }

  private async release (a: string, reason: string): Promise<Outcome> {
    try {
      await this.coordinator.release(a, reason)
    } catch (err) {
      if (!isFencedError(err)) this.log.warn({ err, assignment: a }, 'release failed; the lease will return the task')
    }
    this.log.info({ assignment: a, reason }, 'task released')
    return 'released'
  }

  private lost (task: WorkTask, a: string): Outcome {
    this.log.info({ task: task.id, assignment: a }, 'assignment fenced; dropping the task')
    return 'lost'
  }
}

/** The commit message names the task, so `git log main` reads as a task list. */
export function commitMessage (task: WorkTask, agent: AgentInfo): string {
  return `${task.id}: ${task.title}\n\nfleet task ${task.id}, attempt ${task.attempt}, by agent ${agent.id}.`
}

/** Agents author their commits: `A <A@fleet.invalid>` (.invalid: never a real mailbox). */
export function agentIdentity (agent: AgentInfo): GitIdentity {
  return { name: agent.name.replace(/[<>\n]/g, '') || agent.id, email: `${safeDirName(agent.id)}@fleet.invalid` }
}

function evidenceFor (head: string, branch: string, wt: AgentWorktree, diffStat: string, r: ExecutionResult): EvidenceItem[] {
  const output = r.outputTail.trim().slice(-EVIDENCE_OUTPUT_CHARS)
  return [
    { kind: 'commit', content: head },
    { kind: 'diff-stat', content: diffStat === '' ? '(no file changes)' : diffStat },
    { kind: 'log', content: `executor ${describeEnd(r)} (exit code ${String(r.exitCode)}) on ${branch} from ${wt.base}\n${output}` }
  ]
}

function lastLine (s: string): string {
  const lines = s.trim().split('\n')
  return (lines[lines.length - 1] ?? '').trim()
}

/**
 * Coalesces progress updates: at most one write per interval and one in flight, the latest value
 * wins. A FencedError from the coordinator marks the assignment fenced and calls onFenced.
 */
class ProgressReporter {
  fenced = false
  private pending: { percent: number, message: string | null } | null = null
  private inFlight: Promise<void> | null = null
  private lastSentAt = 0
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor (
    private readonly coordinator: AgentCoordinator,
    private readonly assignmentId: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly onFenced: () => void
  ) {}

  report (percent: number, message: string | null): void {
    if (this.closed || this.fenced) return
    this.pending = { percent, message }
    this.schedule()
  }

  /** Sends what is pending now and waits for it. */
  async flush (): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    await this.inFlight
    if (this.pending !== null) await this.send()
  }

  close (): void {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule (): void {
    if (this.timer !== null || this.inFlight !== null) return
    const wait = Math.max(0, this.lastSentAt + this.intervalMs - Date.now())
    this.timer = setTimeout(() => {
      this.timer = null
      this.send().catch(() => undefined)
    }, wait)
  }

  private async send (): Promise<void> {
    const p = this.pending
    if (p === null || this.fenced) return
    this.pending = null
    this.lastSentAt = Date.now()
    const run = (async () => {
      try {
        await this.coordinator.progress(this.assignmentId, p.percent, p.message)
      } catch (err) {
        if (isFencedError(err)) {
          this.fenced = true
          this.onFenced()
        } else {
          this.log.warn({ err }, 'progress update failed')
        }
      }
    })()
    this.inFlight = run
    await run
    this.inFlight = null
    if (this.pending !== null && !this.closed) this.schedule()
  }
}
