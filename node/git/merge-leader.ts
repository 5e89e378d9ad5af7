import type { Logger } from '../logger.js'
import { AbortableLoop } from '../util/abortable-loop.js'
import { Backoff, sleep, Wakeable, type BackoffInit } from '../../bootstrap/backoff.js'
import { MergeAbortedError, type MergeEntry, type MergeOutcome, type MergeRunner } from './merge-runner.js'

/** How often a node checks whether it leads and whether the queue has work, when idle. */
export const DEFAULT_MERGE_POLL_MS = 1000

/**
 * The merge queue as the leader sees it; the node implements it over the document.
 */
export interface MergeQueueStore {
  /**
   * The entry to process next, or null. Entries already 'merging' come first (a leader died or
   * was stopped mid-merge: finishing them first keeps the order), then 'queued' ones by priority
   * descending, then enqueue time, then id. Must not return merged, ejected or fenced entries
   * (an entry whose assignment lost its claim is ejected or skipped by the store). It may skip a
   * 'merging' entry whose leader is another node still alive, but must return it once that
   * leader is gone, or it stays stuck.
   */
  next: () => Promise<MergeEntry | null>
  /**
   * Marks the entry 'merging' with this node as leader (entries re-processed after a crash too).
   * false when it can no longer be processed (merged, ejected or fenced meanwhile): skipped.
   */
  markMerging: (id: string) => Promise<boolean>
  /** Entry 'merged' at `sha` (the main commit containing the branch), the task done. Idempotent. */
  markMerged: (id: string, sha: string, output: string) => Promise<void>
  /**
   * Entry 'ejected' with reason and output tail; the task back to pending with the reason, unless
   * `reopen` is false (the task is already merged through another entry). Idempotent.
   */
  eject: (id: string, reason: string, output: string, opts?: { reopen: boolean }) => Promise<void>
}

export interface MergeLeaderInit {
  runner: Pick<MergeRunner, 'process'>
  store: MergeQueueStore
  /** Whether this node leads the current term; read before each entry. */
  isLeader: () => boolean
  logger: Logger
  /** Default DEFAULT_MERGE_POLL_MS. */
  pollMs?: number
  /** Backoff after errors (git/remote trouble, main racing); defaults of backoff.ts. */
  backoff?: BackoffInit
  /** Called after each processed entry, e.g. for metrics. Must not throw. */
  onOutcome?: (entry: MergeEntry, outcome: MergeOutcome) => void
}

export interface MergeLeaderStats {
  merged: number
  alreadyMerged: number
  ejected: number
  errors: number
}

/**
 * Processes the merge queue while this node leads: one entry at a time, in queue order. A
 * failure that is not the entry's fault (remote unreachable, main racing) leaves the entry
 * 'merging' and is retried with backoff, so the queue keeps its order. Results are recorded even
 * if leadership passed meanwhile: they are facts about git, and re-processing is safe anyway.
 */
export class MergeLeader {
  private readonly runner: Pick<MergeRunner, 'process'>
  private readonly store: MergeQueueStore
  private readonly isLeader: () => boolean
  private readonly log: Logger
  private readonly pollMs: number
  private readonly backoff: BackoffInit
  private readonly onOutcome: ((entry: MergeEntry, outcome: MergeOutcome) => void) | undefined
  private readonly wake = new Wakeable()
  private readonly loop: AbortableLoop
  private _current: string | null = null
  readonly stats: MergeLeaderStats = { merged: 0, alreadyMerged: 0, ejected: 0, errors: 0 }

  constructor (init: MergeLeaderInit) {
    this.runner = init.runner
    this.store = init.store
    this.isLeader = init.isLeader
    this.log = init.logger.child({ component: 'merge-leader' })
    this.loop = new AbortableLoop(async (signal) => { await this.run(signal) }, (err) => { this.log.error({ err }, 'merge leader loop crashed') })
    this.pollMs = init.pollMs ?? DEFAULT_MERGE_POLL_MS
    this.backoff = init.backoff ?? {}
    this.onOutcome = init.onOutcome
  }

  /** The entry being processed, if any. */
  get current (): string | null {
    return this._current
  }

  start (): void {
    this.loop.start()
  }


  /** Stops after aborting a running check; an entry in progress stays 'merging' for the next leader. */
  async stop (): Promise<void> {
    await this.loop.stop()
  }


  /** Cuts an idle wait short, e.g. when an entry was just queued or leadership changed. */
  poke (): void {
    this.wake.poke()
  }

  private async idle (ms: number, signal: AbortSignal): Promise<void> {
    await this.wake.wait(ms, signal)
  }

  private async run (signal: AbortSignal): Promise<void> {
    // Every path round this loop waits (poll, backoff) or did real work (a merge): no spinning.
    const failures = new Backoff(this.backoff)
    while (!signal.aborted) {
      try {
        if (!this.isLeader()) {
          await this.idle(this.pollMs, signal)
          continue
        }
        const entry = await this.store.next()
        if (entry === null) {
          await this.idle(this.pollMs, signal)
          continue
        }
        if (!await this.store.markMerging(entry.id)) {
          // The store offered an entry it will not let us take; wait rather than spin on it.
          await this.idle(this.pollMs, signal)
          continue
        }
        this._current = entry.id
        const outcome = await this.runner.process(entry, signal)
        if (outcome.state === 'merged') {
          await this.store.markMerged(entry.id, outcome.sha, outcome.output)
          this.stats[outcome.alreadyMerged ? 'alreadyMerged' : 'merged']++
        } else {
          await this.store.eject(entry.id, outcome.reason, outcome.output, { reopen: outcome.duplicate !== true })
          this.stats.ejected++
        }
        this.log.info({ entry: entry.id, task: entry.taskId, ...outcomeLog(outcome) }, 'merge queue entry processed')
        this.onOutcome?.(entry, outcome)
        failures.reset()
      } catch (err) {
        if (signal.aborted || err instanceof MergeAbortedError) break
        const delay = failures.next()
        this.stats.errors++
        this.log.warn({ err, failures: failures.failures, retryInMs: delay }, 'merge queue step failed; backing off')
        // Not this.idle(): a poke (any queue change) must not cut a backoff short.
        await sleep(delay, signal)
      } finally {
        this._current = null
      }
    }
  }
}

function outcomeLog (o: MergeOutcome): Record<string, unknown> {
  return o.state === 'merged' ? { state: o.state, sha: o.sha, alreadyMerged: o.alreadyMerged } : { state: o.state, reason: o.reason }
}
