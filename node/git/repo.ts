import { rmSync } from 'node:fs'
import type { SimpleGit } from 'simple-git'
import { gitAt, GitCommandError, gitErrorText, DEFAULT_GIT_IDENTITY, type GitIdentity } from './git.js'
import { DEFAULT_MAIN_BRANCH, DEFAULT_REMOTE } from './defaults.js'
import { RepoError } from './repo-error.js'

export { DEFAULT_MAIN_BRANCH, DEFAULT_REMOTE } from './defaults.js'
export { RepoError } from './repo-error.js'

export interface GitRepoInit {
  /** The node's clone (`--repo PATH`): a working clone or a bare one; agents never touch its checkout. */
  path: string
  /** The shared remote (`--remote NAME`); default DEFAULT_REMOTE. */
  remote?: string
  /** The branch everything merges into; default DEFAULT_MAIN_BRANCH. */
  mainBranch?: string
  /** Identity for commits made through this repo; default DEFAULT_GIT_IDENTITY. */
  identity?: GitIdentity
}

/**
 * A node's clone and its shared remote. Remote state is read only through explicit fetches into
 * `refs/remotes/<remote>/...`, so "the latest remote main" always means "as of the last fetch".
 *
 * Ref-writing commands of all agents and the merge runner go through `exclusive`: they share one
 * clone, and two concurrent fetches of the same ref fail on its lock.
 */
export class GitRepo {
  readonly path: string
  readonly remote: string
  readonly mainBranch: string
  readonly identity: GitIdentity
  private tail: Promise<unknown> = Promise.resolve()

  constructor (init: GitRepoInit) {
    this.path = init.path
    this.remote = init.remote ?? DEFAULT_REMOTE
    this.mainBranch = init.mainBranch ?? DEFAULT_MAIN_BRANCH
    this.identity = init.identity ?? DEFAULT_GIT_IDENTITY
  }

  /** simple-git at the clone (or at `dir`, e.g. a worktree of it). */
  git (dir: string = this.path, signal?: AbortSignal): SimpleGit {
    return gitAt(dir, { identity: this.identity, ...(signal === undefined ? {} : { signal }) })
  }

  /** Where the last fetch put a remote branch. */
  remoteRef (branch: string): string {
    return `refs/remotes/${this.remote}/${branch}`
  }

  get remoteMainRef (): string {
    return this.remoteRef(this.mainBranch)
  }

  /** Runs fn after every earlier exclusive fn of this repo has settled. */
  async exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn)
    this.tail = run.catch(() => undefined)
    return await run
  }

  /** Checks that the clone is a repository with the remote configured; throws RepoError saying what is wrong. */
  async check (): Promise<void> {
    try {
      await this.git().raw(['rev-parse', '--git-dir'])
    } catch (err) {
      throw new RepoError(this.path, `not a git repository (${gitErrorText(err)})`)
    }
    try {
      await this.git().raw(['remote', 'get-url', this.remote])
    } catch {
      throw new RepoError(this.path, `has no remote named "${this.remote}" (add it with: git -C ${this.path} remote add ${this.remote} URL)`)
    }
  }

  /** Fetches the remote main into remoteMainRef and returns its sha. */
  async fetchMain (signal?: AbortSignal): Promise<string> {
    await this.exclusive(async () => {
      await this.git(this.path, signal).raw(['fetch', '--verbose', '--no-tags', '--no-write-fetch-head', this.remote, `+refs/heads/${this.mainBranch}:${this.remoteMainRef}`])
    })
    const sha = await this.resolve(this.remoteMainRef)
    if (sha === null) throw new RepoError(this.path, `fetched ${this.remote}/${this.mainBranch} but cannot resolve it`)
    return sha
  }

  /** Fetches one remote branch into remoteRef(branch); null when the remote has no such branch. */
  async fetchBranch (branch: string, signal?: AbortSignal): Promise<string | null> {
    const ref = this.remoteRef(branch)
    try {
      await this.exclusive(async () => {
        await this.git(this.path, signal).raw(['fetch', '--verbose', '--no-tags', '--no-write-fetch-head', this.remote, `+refs/heads/${branch}:${ref}`])
      })
    } catch (err) {
      if (/couldn't find remote ref/i.test(gitErrorText(err))) return null
      throw err
    }
    return await this.resolve(ref)
  }

  /** The commit a ref or sha names, or null when it names none. */
  async resolve (ref: string, dir: string = this.path): Promise<string | null> {
    try {
      const out = (await this.git(dir).raw(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim()
      return out === '' ? null : out
    } catch (err) {
      if (err instanceof GitCommandError && err.exitCode === 1) return null
      throw err
    }
  }

  /**
   * Forgets whatever worktree is registered at `path` (a leftover of a crash included) and deletes
   * the directory. Writes the shared worktree list: call it inside exclusive.
   */
  async removeWorktree (path: string): Promise<void> {
    // Deleting the directory and pruning unregisters it too, in one git command instead of two.
    rmSync(path, { recursive: true, force: true })
    await this.git().raw(['worktree', 'prune'])
  }

  /** Whether `ancestor` is `descendant` or in its history (both must be present locally). */
  async isAncestor (ancestor: string, descendant: string): Promise<boolean> {
    // Commits of ancestor not in descendant: 0 means contained. (`merge-base --is-ancestor` answers
    // by exit code alone, and a silent command costs simple-git's 50 ms wait.)
    const out = await this.git().raw(['rev-list', '--count', ancestor, '--not', descendant])
    return Number(out.trim()) === 0
  }
}
