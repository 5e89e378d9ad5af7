import { simpleGit, GitError, type SimpleGit } from 'simple-git'

/** Who commits: agents commit their work, the merge leader commits merges. */
export interface GitIdentity {
  name: string
  email: string
}

export const DEFAULT_GIT_IDENTITY: GitIdentity = { name: 'fleet', email: 'fleet@localhost' }

/**
 * A git command that exited non-zero. simple-git on its own resolves a command that fails without
 * writing to stderr (e.g. `merge-base --is-ancestor` answering "no"), so every instance made here
 * turns a non-zero exit into this error, with the exit code kept for callers that branch on it.
 */
export class GitCommandError extends GitError {
  override name = 'GitCommandError'
  constructor (readonly exitCode: number, readonly stderr: string, readonly stdout: string) {
    super(undefined, `git exited with code ${exitCode}${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`)
  }
}

export interface GitAtInit {
  /** Commit identity, passed as `-c user.name/user.email` (simple-git strips GIT_* env vars). Default DEFAULT_GIT_IDENTITY. */
  identity?: GitIdentity
  /** Kills the running git command when aborted. */
  signal?: AbortSignal
}

/**
 * A simple-git instance for one directory. Automatic gc/maintenance is off: several agents share
 * one clone through their worktrees, and a background gc repacking refs under a concurrent
 * fetch or worktree add makes those fail on ref locks.
 *
 * Commands here avoid --quiet on purpose: simple-git waits an extra 50 ms after any command that
 * wrote nothing to stdout or stderr, which adds up over the dozen commands of one task.
 */
export function gitAt (dir: string, init: GitAtInit = {}): SimpleGit {
  const id = init.identity ?? DEFAULT_GIT_IDENTITY
  return simpleGit({
    baseDir: dir,
    config: ['gc.auto=0', 'maintenance.auto=false', `user.name=${id.name}`, `user.email=${id.email}`],
    ...(init.signal === undefined ? {} : { abort: init.signal }),
    errors (error, result) {
      if (error !== undefined) return error
      if (result.exitCode !== 0) {
        return new GitCommandError(result.exitCode, Buffer.concat(result.stdErr).toString('utf8'), Buffer.concat(result.stdOut).toString('utf8'))
      }
      return undefined
    }
  })
}

/** The text of an error from a git command (message plus any captured output), for reasons and logs. */
export function gitErrorText (err: unknown): string {
  if (err instanceof GitCommandError) return `${err.message}${err.stdout.trim() === '' ? '' : `\n${err.stdout.trim()}`}`
  return err instanceof Error ? err.message : String(err)
}
