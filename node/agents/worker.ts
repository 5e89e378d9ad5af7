import type { Logger } from '../logger.js'
import { InvalidBranchError, branchForTask } from '../git/branches.js'
import { gitErrorText } from '../git/git.js'
import type { AgentWorktree, WorktreeManager } from '../git/worktrees.js'
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../crdt/rules/leases.js'
import { AbortableLoop } from '../util/abortable-loop.js'
import { Backoff, backoffDelay, sleep, Wakeable, type BackoffInit } from '../../bootstrap/backoff.js'
import { isFencedError, type AgentCoordinator, type AgentInfo, type WorkTask } from './coordinator.js'
import type { Executor } from './executor.js'
import { ProgressReporter } from './progress-reporter.js'
import { agentIdentity, commitMessage, evidenceFor, lastLine } from './work-record.js'

/** Heartbeat interval (the earlier agents' 30 s); a node derives a shorter one from a short lease. */
export const DEFAULT_HEARTBEAT_MS = DEFAULT_HEARTBEAT_INTERVAL_MS
/** How long an idle agent first waits before looking for a task again. */
export const DEFAULT_IDLE_MS = 1000
/** Idle waits back off up to this; poke() (new work in the document) cuts them short. */
export const DEFAULT_IDLE_MAX_MS = 5000
/** Backoff after a refused or lost claim: short at first (a race), longer while it persists. */
export const DEFAULT_CLAIM_BACKOFF: Readonly<BackoffInit> = { baseMs: 250, maxMs: 10_000 }
/** Progress lines renew the lease too, at most this often. */
export const DEFAULT_PROGRESS_BEAT_MS = 1000
/** Refused claims in a row after which the agent says so at warn level (once per streak). */
export const REFUSALS_BEFORE_WARNING = 10
/** Why an assignment left over from before a restart is given back. */
export const RESTART_REASON = 'agent restarted'
/** Tries of each coordinator write after the work is done before giving the task back. */
export const DEFAULT_CALL_ATTEMPTS = 4

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
  /** Default DEFAULT_IDLE_MAX_MS (never below idleMs). */
  idleMaxMs?: number
  /** Backoff after a refused or lost claim; default DEFAULT_CLAIM_BACKOFF. */
  claimBackoff?: BackoffInit
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

/** How one pick-claim-work round ended, for what the loop does next. */
type Round = 'idle' | 'refused' | 'lost' | 'worked'

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
 *
 * Only a round that did real work goes straight on; idle, refused, lost and failed rounds wait
 * (with jitter): coordinator calls may resolve without I/O, and a loop without a timer would
 * starve the node (heartbeats, sync, HTTP). On start, what the agent held before a crash is given
 * back at once (see adopt). Heartbeats run all along, executor runs included; progress renews too.
 */
export class AgentWorker {
  readonly agent: AgentInfo
  private readonly coordinator: AgentCoordinator
  private readonly worktrees: WorktreeManager
  private readonly executor: Executor
  private readonly log: Logger
  private readonly heartbeatMs: number
  private readonly backoff: BackoffInit
  private readonly claimBackoff: BackoffInit
  private readonly idleBackoff: BackoffInit
  private readonly allowEmpty: boolean
  private readonly idleWait = new Wakeable()
  private lastBeatAt = 0
  private readonly loop: AbortableLoop
  private current: { taskId: string, assignmentId: string } | null = null
  private _phase: WorkerPhase = 'stopped'
  readonly stats: WorkerStats = { completed: 0, failed: 0, released: 0, lost: 0, errors: 0 }

  constructor (init: AgentWorkerInit) {
    this.agent = init.agent
    this.coordinator = init.coordinator
    this.worktrees = init.worktrees
    this.executor = init.executor
    this.log = init.logger.child({ agent: init.agent.id })
    // run() catches per iteration; a crash is a bug, not a task failure.
    this.loop = new AbortableLoop(async (signal) => { await this.run(signal) }, (err) => { this.log.error({ err }, 'agent loop crashed') })
    this.heartbeatMs = init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
    this.backoff = init.backoff ?? {}
    this.claimBackoff = { ...(init.claimBackoff ?? DEFAULT_CLAIM_BACKOFF), random: init.claimBackoff?.random ?? this.backoff.random }
    const idleMs = init.idleMs ?? DEFAULT_IDLE_MS
    this.idleBackoff = { baseMs: idleMs, maxMs: Math.max(idleMs, init.idleMaxMs ?? DEFAULT_IDLE_MAX_MS), random: this.backoff.random }
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
    this.loop.start()
  }


  /** There may be new work (a task became available): an idle agent looks now instead of later. */
  poke (): void {
    this.idleWait.poke()
  }

  /** Stops the loop: kills a running executor, releases the task in hand, removes the worktree. */
  async stop (): Promise<void> {
    await this.loop.stop()
  }


  /** Agent liveness and the lease of the task in hand; runs on a timer, idle or working. */
  private beat (): void {
    this.lastBeatAt = Date.now()
    this.coordinator.heartbeat(this.agent.id, this.current?.assignmentId ?? null)
      .catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed'))
  }

  private async run (signal: AbortSignal): Promise<void> {
    const heartbeat = setInterval(() => { this.beat() }, this.heartbeatMs)
    const errors = new Backoff(this.backoff)
    const refusals = new Backoff(this.claimBackoff)
    const idle = new Backoff(this.idleBackoff)
    try {
      while (!signal.aborted) {
        try {
          await this.coordinator.register(this.agent)
          await this.adopt()
          break
        } catch (err) {
          this.log.warn({ err }, 'agent registration failed; retrying')
          await this.pause(errors.next(), signal)
        }
      }
      errors.reset()
      while (!signal.aborted) {
        try {
          this._phase = 'idle'
          const round = await this.once(signal)
          errors.reset()
          if (round === 'idle') {
            refusals.reset()
            await this.idleWait.wait(idle.next(), signal)
          } else if (round === 'refused' || round === 'lost') {
            idle.reset()
            const delay = refusals.next()
            const fields = { round, inARow: refusals.failures, retryInMs: delay }
            if (refusals.failures === REFUSALS_BEFORE_WARNING) this.log.warn(fields, 'claims keep being refused or lost; still backing off')
            else this.log.debug(fields, 'claim refused or lost; backing off')
            await this.pause(delay, signal)
          } else {
            // A task ran to an end (I/O all the way): the next one may start at once.
            idle.reset()
            refusals.reset()
          }
        } catch (err) {
          const delay = errors.next()
          this.stats.errors++
          this.log.warn({ err, failures: errors.failures, retryInMs: delay }, 'agent step failed; backing off')
          await this.pause(delay, signal)
        }
      }
    } finally {
      clearInterval(heartbeat)
      this._phase = 'stopped'
    }
  }

  private async pause (ms: number, signal: AbortSignal): Promise<void> {
    this._phase = 'backoff'
    await sleep(ms, signal)
  }

  /**
   * After a (re)start: assignments this agent still holds from before cannot be worked on (the
   * executor died with the old process), and waiting out their lease would hold the task, and
   * this agent, for nothing. Give each back at once, or complete it when its branch is already
   * queued for merge (only the completion was lost).
   */
  private async adopt (): Promise<void> {
    for (const h of await this.coordinator.held(this.agent)) {
      try {
        if (h.queuedForMerge) await this.coordinator.complete(h.assignmentId, `resumed after an agent restart: ${h.taskId} was already queued for merge`)
        else await this.coordinator.release(h.assignmentId, RESTART_REASON)
      } catch (err) {
        // Ended meanwhile (another node expired it): nothing left to take back. Anything else
        // is retried with the registration, with backoff.
        if (isFencedError(err)) continue
        throw err
      }
      this.stats[h.queuedForMerge ? 'completed' : 'released']++
      this.log.info({ task: h.taskId, assignment: h.assignmentId }, h.queuedForMerge ? 'completed an assignment held before the restart (already queued for merge)' : 'gave back an assignment held before the restart')
    }
  }

  /** One pick-claim-work round. */
  private async once (signal: AbortSignal): Promise<Round> {
    const task = await this.coordinator.pickTask(this.agent)
    if (task === null) return 'idle'
    this._phase = 'claiming'
    const claim = await this.coordinator.claim(this.agent, task)
    if (claim === null) return 'refused'
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
        return 'worked'
      }
      if (confirmation === 'lost') {
        this.stats.lost++
        this.log.info({ task: task.id, assignment: a }, 'claim lost to another agent')
        return 'lost'
      }
      // work() gives the task back itself on every path that does not finish it.
      this.stats[await this.work(task, a, signal)]++
      return 'worked'
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
    const progress = new ProgressReporter(this.coordinator, a, this.log, () => job.abort())
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
        onProgress: (p) => {
          progress.report(p.percent, p.message)
          // A progress line is a sign of life: it renews the lease as a heartbeat does.
          if (Date.now() - this.lastBeatAt >= DEFAULT_PROGRESS_BEAT_MS) this.beat()
        }
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
