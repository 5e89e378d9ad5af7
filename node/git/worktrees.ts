import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { branchForTask, isFleetBranch, safeDirName } from './branches.js'
import type { GitIdentity } from './git.js'
import type { GitRepo } from './repo.js'

export interface WorktreeManagerInit {
  repo: GitRepo
  /** Directory holding one worktree per agent, `<root>/<agentId>`; the node passes `<data dir>/worktrees`. */
  root: string
}

/** One agent's checkout of `fleet/<taskId>`, started from `base` (remote main when it was created). */
export interface AgentWorktree {
  path: string
  taskId: string
  branch: string
  base: string
}

export interface CommitOptions {
  /** Commit author (the committer stays the repo's identity); default the repo's identity. */
  author?: GitIdentity
  /** Make an empty commit when there is nothing to commit; default false (commitAll returns null). */
  allowEmpty?: boolean
}

export interface PushResult {
  /** The commit now at the tip of the remote branch. */
  commit: string
  /** The remote tip this push replaced with --force-with-lease (a previous attempt's), or null. */
  replaced: string | null
}

/** The branch on the remote moved while we pushed (force-with-lease refused), or another push failure. */
export class BranchPushError extends Error {
  override name = 'BranchPushError'
  constructor (readonly branch: string, reason: string) {
    super(`push of ${branch} failed: ${reason}`)
  }
}

/**
 * Agent worktrees over a node's clone. The clone's own checkout is never touched: each agent gets
 * `<root>/<agentId>` on a fresh `fleet/<taskId>` branch, removed again when the task ends.
 */
export class WorktreeManager {
  readonly repo: GitRepo
  readonly root: string

  constructor (init: WorktreeManagerInit) {
    this.repo = init.repo
    this.root = resolve(init.root)
  }

  pathFor (agentId: string): string {
    return join(this.root, safeDirName(agentId))
  }

  /**
   * Fetches the remote main and checks out `fleet/<taskId>` from it in the agent's worktree.
   * A leftover worktree of the agent (a crash mid-task) is removed first; a local branch of an
   * earlier attempt is reset, since the remote is where finished work lives.
   */
  async create (agentId: string, taskId: string, signal?: AbortSignal): Promise<AgentWorktree> {
    const branch = branchForTask(taskId)
    const base = await this.repo.fetchMain(signal)
    const path = this.pathFor(agentId)
    await this.repo.exclusive(async () => {
      await this.repo.removeWorktree(path)
      mkdirSync(this.root, { recursive: true })
      await this.repo.git(this.repo.path, signal).raw(['worktree', 'add', '--no-track', '-B', branch, path, base])
    })
    return { path, taskId, branch, base }
  }

  /**
   * Stages everything in the worktree (respecting .gitignore) and commits it. Returns the new tip,
   * or null when the branch holds no change relative to its base (nothing staged and the executor
   * committed nothing itself) unless allowEmpty, which then makes an empty commit.
   */
  async commitAll (wt: AgentWorktree, message: string, opts: CommitOptions = {}): Promise<string | null> {
    const git = this.repo.git(wt.path)
    const author = opts.author === undefined ? [] : [`--author=${opts.author.name} <${opts.author.email}>`]
    await git.raw(['add', '--verbose', '-A'])
    const staged = (await git.raw(['status', '--porcelain', '--untracked-files=no'])).trim()
    if (staged !== '') await git.raw(['commit', ...author, '-m', message])
    let head = await this.repo.resolve('HEAD', wt.path)
    if ((head === null || head === wt.base) && opts.allowEmpty === true) {
      await git.raw(['commit', '--allow-empty', ...author, '-m', message])
      head = await this.repo.resolve('HEAD', wt.path)
    }
    if (head === null || head === wt.base) return null
    return head
  }

  /** `git diff --stat` of the tip against the main it started from. */
  async diffStat (wt: AgentWorktree, head: string): Promise<string> {
    return (await this.repo.git(wt.path).raw(['diff', '--stat', `${wt.base}...${head}`])).trimEnd()
  }

  /**
   * Pushes `head` to the remote `fleet/<taskId>`. When the remote branch holds an earlier attempt
   * (not in our history), it is replaced with --force-with-lease against the tip we just fetched,
   * so a concurrent push by someone else is refused rather than overwritten. Only fleet/ branches
   * are ever forced; main is never pushed from here.
   */
  async push (wt: AgentWorktree, head: string, signal?: AbortSignal): Promise<PushResult> {
    if (!isFleetBranch(wt.branch)) throw new BranchPushError(wt.branch, 'not a fleet/ branch')
    const remoteTip = await this.repo.fetchBranch(wt.branch, signal)
    const replace = remoteTip !== null && remoteTip !== head && !(await this.repo.isAncestor(remoteTip, head))
    const dst = `refs/heads/${wt.branch}`
    const args = ['push', ...(replace ? [`--force-with-lease=${dst}:${remoteTip ?? ''}`] : []), this.repo.remote, `${head}:${dst}`]
    try {
      await this.repo.exclusive(async () => {
        await this.repo.git(wt.path, signal).raw(args)
      })
    } catch (err) {
      throw new BranchPushError(wt.branch, err instanceof Error ? err.message : String(err))
    }
    return { commit: head, replaced: replace ? remoteTip : null }
  }

  /** Removes the worktree and its local branch (the pushed branch stays on the remote). Idempotent. */
  async remove (wt: AgentWorktree): Promise<void> {
    await this.repo.exclusive(async () => {
      await this.repo.removeWorktree(wt.path)
      await this.repo.git().raw(['branch', '-D', wt.branch]).catch(() => undefined)
    })
  }
}
