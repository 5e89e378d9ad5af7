import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Logger } from '../logger.js'
import { describeEnd, runCommand, type CommandResult } from '../agents/command.js'
import { safeDirName } from './branches.js'
import { gitErrorText } from './git.js'
import type { GitRepo } from './repo.js'
import { DEFAULT_CHECK_TIMEOUT_MS } from './defaults.js'

export { DEFAULT_CHECK_TIMEOUT_MS } from './defaults.js'
/** Trailer of every merge commit: lets any leader see that a task is already on main. */
export const TASK_TRAILER = 'Fleet-Task'
/** Pushes of main rejected because main moved, before giving up on the entry for now. */
export const DEFAULT_MAX_PUSH_ATTEMPTS = 3
/** How much output an outcome keeps (the end). */
export const MERGE_OUTPUT_CHARS = 4000

/** A merge queue entry as the runner needs it. */
export interface MergeEntry {
  id: string
  taskId: string
  branch: string
  /**
   * The tip the agent pushed. When set, exactly this commit is merged: if the branch has since
   * been overwritten (another attempt), the entry is ejected rather than merging someone else's
   * work. null/absent: the branch's current tip.
   */
  commit?: string | null
}

export type MergeOutcome =
  /** sha: the main commit that contains the branch (the new merge, or main as found if already contained). */
  | { state: 'merged', sha: string, alreadyMerged: boolean, output: string }
  | { state: 'ejected', reason: string, output: string, conflicts: string[], /** the task is already on main through another entry */ duplicate?: boolean }

export interface MergeRunnerInit {
  repo: GitRepo
  /** Scratch worktrees live at `<scratchDir>/<entryId>`; the node passes `<data dir>/merges`. */
  scratchDir: string
  /** `--check` shell command run on the merge result; null/absent: no check. */
  check?: string | null
  /** Default DEFAULT_CHECK_TIMEOUT_MS. */
  checkTimeoutMs?: number
  /** Default DEFAULT_MAX_PUSH_ATTEMPTS. */
  maxPushAttempts?: number
  /** Base environment of the check; default process.env. */
  env?: NodeJS.ProcessEnv
  logger: Logger
}

/** main kept moving under us: every push in this round was rejected. Transient; try the entry again later. */
export class MergeRaceError extends Error {
  override name = 'MergeRaceError'
  constructor (readonly entryId: string, attempts: number) {
    super(`merge of entry ${entryId}: push of main rejected ${attempts} times because main moved`)
  }
}

/** The runner was stopped mid-merge (shutdown); the entry stays 'merging' for the next leader. */
export class MergeAbortedError extends Error {
  override name = 'MergeAbortedError'
  constructor (readonly entryId: string, options?: ErrorOptions) {
    super(`merge of entry ${entryId} aborted`, options)
  }
}

/** Whether a failed push was refused because the remote ref moved (as opposed to a broken remote). */
export function isPushRejection (text: string): boolean {
  return /\[rejected\]|non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref|\[remote rejected\]/i.test(text)
}

/**
 * Merges one queue entry onto the remote main. Git itself is the fence: main is only ever pushed
 * without force, so a merge built on an old main (a stale or concurrent leader) is refused, and a
 * branch already in main is reported merged instead of merged again. That makes re-processing an
 * entry (a leader that died mid-merge) safe.
 */
export class MergeRunner {
  private readonly repo: GitRepo
  private readonly scratchDir: string
  private readonly check: string | null
  private readonly checkTimeoutMs: number
  private readonly maxPushAttempts: number
  private readonly env: NodeJS.ProcessEnv | undefined
  private readonly log: Logger

  constructor (init: MergeRunnerInit) {
    this.repo = init.repo
    this.scratchDir = resolve(init.scratchDir)
    this.check = init.check === undefined || init.check === null || init.check.trim() === '' ? null : init.check
    this.checkTimeoutMs = init.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS
    this.maxPushAttempts = init.maxPushAttempts ?? DEFAULT_MAX_PUSH_ATTEMPTS
    this.env = init.env
    this.log = init.logger.child({ component: 'merge-runner' })
  }

  /**
   * Fetch; if the entry's commit is already in main, 'merged' with main's sha. Otherwise merge it
   * onto main in a scratch worktree (a merge commit naming the task), run the check, and push main
   * as a fast-forward; a push rejected because main moved starts over from the fetch. Conflicts
   * and failing checks give 'ejected'. Throws on git/remote trouble, MergeRaceError when main
   * kept moving, MergeAbortedError when the signal aborts.
   */
  async process (entry: MergeEntry, signal?: AbortSignal): Promise<MergeOutcome> {
    try {
      return await this.processOnce(entry, signal)
    } catch (err) {
      // An abort can land inside any git command (simple-git throws its own error then): to the
      // caller it is the same stop, and the entry stays 'merging' for the next leader.
      if (signal?.aborted === true && !(err instanceof MergeAbortedError)) throw new MergeAbortedError(entry.id, { cause: err })
      throw err
    }
  }

  private async processOnce (entry: MergeEntry, signal?: AbortSignal): Promise<MergeOutcome> {
    const log = this.log.child({ entry: entry.id, task: entry.taskId })
    // Entries come from the replicated document: a name git would read as something else is refused.
    if (!/^[A-Za-z0-9._/-]+$/.test(entry.branch) || entry.branch.includes('..') || entry.branch.startsWith('-') || entry.branch.startsWith('/')) {
      return ejected(`invalid branch name ${JSON.stringify(entry.branch)}`, '')
    }
    if (entry.commit !== undefined && entry.commit !== null && !/^[0-9a-f]{40}$/.test(entry.commit)) {
      return ejected(`invalid commit ${JSON.stringify(entry.commit)} (expected a full sha)`, '')
    }
    for (let attempt = 1; attempt <= this.maxPushAttempts; attempt++) {
      if (signal?.aborted === true) throw new MergeAbortedError(entry.id)
      const main = await this.repo.fetchMain(signal)
      const expected = entry.commit ?? null
      if (expected !== null && await this.containedIn(expected, main)) return merged(main, true, '')
      const tip = await this.repo.fetchBranch(entry.branch, signal)
      if (tip === null) return ejected(`branch ${entry.branch} not found on ${this.repo.remote}`, '')
      if (expected !== null && tip !== expected) {
        return ejected(`branch ${entry.branch} is at ${tip.slice(0, 7)}, not the queued commit ${expected.slice(0, 7)} (overwritten by another attempt)`, '')
      }
      if (await this.repo.isAncestor(tip, main)) return merged(main, true, '')
      // Another attempt at the same task (e.g. the other side of a partition) may already be on
      // main under a different commit: a task is merged once, whatever its branch holds now.
      const prior = await this.taskMergeOn(entry.taskId, main)
      if (prior !== null) return { state: 'ejected', reason: `task ${entry.taskId} is already on main (merge ${prior.slice(0, 7)}); not merged twice`, output: '', conflicts: [], duplicate: true }

      const r = await this.mergeAndPush(entry, tip, main, signal)
      if (r === 'rejected') {
        log.info({ attempt, main }, 'push of main rejected (main moved); fetching and merging again')
        continue
      }
      if (r.state === 'ejected') {
        // Another leader (overlapping terms, a partition) may have merged this very entry while we
        // worked: git says it is merged, so report that rather than eject a merged branch.
        const now = await this.repo.fetchMain(signal)
        if (now !== main && await this.repo.isAncestor(tip, now)) return merged(now, true, '')
      }
      return r
    }
    throw new MergeRaceError(entry.id, this.maxPushAttempts)
  }

  /** The merge commit on main that carries this task's trailer, or null. */
  private async taskMergeOn (taskId: string, main: string): Promise<string | null> {
    const pattern = `^${TASK_TRAILER}: ${taskId.replace(/[.]/g, '\\.')}$`
    const out = await this.repo.git().raw(['log', main, '-1', '--format=%H', '--grep', pattern])
    const sha = out.trim()
    return sha === '' ? null : sha
  }

  private async containedIn (commit: string, main: string): Promise<boolean> {
    // The commit is only present locally if fetched before; if main contains it, fetching main brought it.
    if (await this.repo.resolve(commit) === null) return false
    return await this.repo.isAncestor(commit, main)
  }

  private async mergeAndPush (entry: MergeEntry, tip: string, main: string, signal?: AbortSignal): Promise<MergeOutcome | 'rejected'> {
    const path = join(this.scratchDir, safeDirName(entry.id))
    await this.repo.exclusive(async () => {
      await this.repo.removeWorktree(path)
      mkdirSync(this.scratchDir, { recursive: true })
      await this.repo.git().raw(['worktree', 'add', '--detach', path, main])
    })
    try {
      const git = this.repo.git(path, signal)
      const message = `Merge ${entry.branch}: task ${entry.taskId}\n\nfleet merge queue entry ${entry.id}, ${tip} onto main ${main}.\n\n${TASK_TRAILER}: ${entry.taskId}`
      try {
        await git.raw(['merge', '--no-ff', '--no-edit', '-m', message, tip])
      } catch (mergeErr) {
        if (signal?.aborted === true) throw new MergeAbortedError(entry.id)
        const conflicts = (await git.raw(['diff', '--name-only', '--diff-filter=U']).catch(() => '')).split('\n').map(s => s.trim()).filter(Boolean)
        const output = gitErrorText(mergeErr).slice(-MERGE_OUTPUT_CHARS)
        if (conflicts.length > 0) {
          return ejected(`merge conflict with main ${main.slice(0, 7)} in ${conflicts.join(', ')}`, output, conflicts)
        }
        return ejected(`merge onto main ${main.slice(0, 7)} failed: ${firstLine(gitErrorText(mergeErr))}`, output)
      }
      const merge = await this.repo.resolve('HEAD', path)
      if (merge === null) throw new Error(`merge of ${entry.branch} left no HEAD in ${path}`)

      let output = ''
      if (this.check !== null) {
        const r = await this.runCheck(entry, path, main, merge, signal)
        output = r.outputTail.trim().slice(-MERGE_OUTPUT_CHARS)
        if (r.aborted) throw new MergeAbortedError(entry.id)
        if (r.exitCode !== 0 || r.timedOut) return ejected(`check failed: ${describeEnd(r, this.checkTimeoutMs)}`, output)
      }

      try {
        await this.repo.exclusive(async () => {
          // No force, ever: a push that is not a fast-forward of the remote main is refused by git.
          await this.repo.git(path, signal).raw(['push', this.repo.remote, `${merge}:refs/heads/${this.repo.mainBranch}`])
        })
      } catch (err) {
        if (signal?.aborted === true) throw new MergeAbortedError(entry.id)
        if (isPushRejection(gitErrorText(err))) return 'rejected'
        throw err
      }
      this.log.info({ entry: entry.id, task: entry.taskId, sha: merge }, 'merged and pushed main')
      return merged(merge, false, output)
    } finally {
      await this.repo.exclusive(async () => await this.repo.removeWorktree(path))
        .catch((err: unknown) => this.log.warn({ err, path }, 'could not remove merge worktree'))
    }
  }

  private async runCheck (entry: MergeEntry, cwd: string, main: string, merge: string, signal?: AbortSignal): Promise<CommandResult> {
    const env: NodeJS.ProcessEnv = {
      ...(this.env ?? process.env),
      FLEET_MERGE_ENTRY_ID: entry.id,
      FLEET_TASK_ID: entry.taskId,
      FLEET_BRANCH: entry.branch,
      FLEET_MAIN_SHA: main,
      FLEET_MERGE_SHA: merge
    }
    for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[k]
    return await runCommand({
      command: this.check ?? 'true',
      cwd,
      env,
      timeoutMs: this.checkTimeoutMs,
      ...(signal === undefined ? {} : { signal })
    })
  }
}

function merged (sha: string, alreadyMerged: boolean, output: string): MergeOutcome {
  return { state: 'merged', sha, alreadyMerged, output }
}

function ejected (reason: string, output: string, conflicts: string[] = []): MergeOutcome {
  return { state: 'ejected', reason, output, conflicts }
}

function firstLine (s: string): string {
  return s.trim().split('\n')[0] ?? ''
}
