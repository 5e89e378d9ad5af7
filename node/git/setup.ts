import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { gitAt, DEFAULT_GIT_IDENTITY, type GitIdentity } from './git.js'
import { DEFAULT_MAIN_BRANCH, DEFAULT_REMOTE } from './repo.js'

/** What a fresh shared remote's first commit holds unless told otherwise. */
export const DEFAULT_SEED_FILES: Record<string, string> = {
  'README.md': '# fleet work repository\n\nTasks merged by the fleet merge queue land here.\n'
}

export interface SharedRemoteInit {
  /** Default DEFAULT_MAIN_BRANCH. */
  mainBranch?: string
  /** Files of the first commit (path -> content); default DEFAULT_SEED_FILES. */
  files?: Record<string, string>
  identity?: GitIdentity
}

/**
 * Creates a bare repository at `path` whose main holds one commit with `files`: the shared
 * remote of a demo or a test. Returns main's sha.
 */
export async function createSharedRemote (path: string, init: SharedRemoteInit = {}): Promise<string> {
  const main = init.mainBranch ?? DEFAULT_MAIN_BRANCH
  const identity = init.identity ?? DEFAULT_GIT_IDENTITY
  const remote = resolve(path)
  mkdirSync(remote, { recursive: true })
  await gitAt(remote).raw(['init', '--bare', '--initial-branch', main])
  const seed = mkdtempSync(join(tmpdir(), 'fleet-seed-'))
  try {
    const git = gitAt(seed, { identity })
    await git.raw(['init', '--initial-branch', main])
    for (const [file, content] of Object.entries(init.files ?? DEFAULT_SEED_FILES)) {
      mkdirSync(dirname(join(seed, file)), { recursive: true })
      writeFileSync(join(seed, file), content)
    }
    await git.raw(['add', '-A'])
    await git.raw(['commit', '--allow-empty', '-m', 'Initial commit'])
    await git.raw(['push', remote, `HEAD:refs/heads/${main}`])
    return (await git.raw(['rev-parse', 'HEAD'])).trim()
  } finally {
    rmSync(seed, { recursive: true, force: true })
  }
}

/** Clones `remoteUrl` to `path` with the remote named `remoteName` (default DEFAULT_REMOTE): a node's `--repo`. */
export async function cloneRepo (remoteUrl: string, path: string, remoteName: string = DEFAULT_REMOTE): Promise<void> {
  mkdirSync(dirname(resolve(path)), { recursive: true })
  await gitAt(dirname(resolve(path))).raw(['clone', '--origin', remoteName, remoteUrl, resolve(path)])
}
