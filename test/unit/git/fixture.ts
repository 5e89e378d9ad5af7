import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { gitAt } from '../../../node/git/git.js'
import { GitRepo } from '../../../node/git/repo.js'
import { cloneRepo, createSharedRemote } from '../../../node/git/setup.js'

export const TEST_IDENTITY = { name: 'Fleet Test', email: 'test@fleet.invalid' }

const templates = new Map<string, string>()
let root: string | null = null
function templateRoot (): string {
  if (root === null) {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-git-templates-'))
    root = dir
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  return root
}

/** A bare remote with a seeded main, and clones of it (one per "node"), in one temp dir. */
export class GitFixture {
  readonly remote: string
  private constructor (readonly dir: string) {
    this.remote = join(dir, 'remote.git')
  }

  /**
   * A fresh fixture. The seeded remote is built once per set of seed files and copied (a small
   * bare repo copies in milliseconds; building one takes half a dozen git commands).
   */
  static async create (files?: Record<string, string>): Promise<GitFixture> {
    const key = JSON.stringify(files ?? null)
    let template = templates.get(key)
    if (template === undefined) {
      template = join(templateRoot(), String(templates.size))
      await createSharedRemote(template, { identity: TEST_IDENTITY, ...(files === undefined ? {} : { files }) })
      templates.set(key, template)
    }
    const f = new GitFixture(mkdtempSync(join(tmpdir(), 'fleet-git-')))
    cpSync(template, f.remote, { recursive: true })
    return f
  }

  /** A fresh clone named `name` as a node's GitRepo. */
  async clone (name: string): Promise<GitRepo> {
    const path = join(this.dir, name)
    await cloneRepo(this.remote, path)
    return new GitRepo({ path, identity: TEST_IDENTITY })
  }

  /** The remote's main sha (read from the bare repo, not through any clone). */
  async remoteMain (): Promise<string> {
    return (await gitAt(this.remote).raw(['rev-parse', 'refs/heads/main'])).trim()
  }

  async remoteRef (ref: string): Promise<string | null> {
    const out = await gitAt(this.remote).raw(['rev-parse', '--verify', '--quiet', ref]).catch(() => '')
    return out.trim() === '' ? null : out.trim()
  }

  /** A file's content in the remote main, or null. */
  async showMain (file: string): Promise<string | null> {
    try {
      return await gitAt(this.remote).raw(['show', `main:${file}`])
    } catch {
      return null
    }
  }

  /** `git log --format=%s` of the remote main, newest first (all parents). */
  async mainSubjects (): Promise<string[]> {
    return (await gitAt(this.remote).raw(['log', '--format=%s', 'main'])).trim().split('\n')
  }

  /** Files in the remote main's tree. */
  async mainFiles (): Promise<string[]> {
    return (await gitAt(this.remote).raw(['ls-tree', '-r', '--name-only', 'main'])).trim().split('\n').filter(Boolean)
  }

  /** First-parent history of remote main, newest first: the sequence main moved through. */
  async mainFirstParents (): Promise<string[]> {
    return (await gitAt(this.remote).raw(['rev-list', '--first-parent', 'main'])).trim().split('\n')
  }

  /**
   * Pushes a branch to the remote made of `files` on top of `from` (default remote main), via a
   * scratch clone, as an agent on another node would. Returns the branch tip.
   */
  async pushBranch (branch: string, files: Record<string, string>, from = 'main', message = `change on ${branch}`): Promise<string> {
    const tmp = mkdtempSync(join(this.dir, 'scratch-'))
    try {
      await cloneRepo(this.remote, tmp)
      const git = gitAt(tmp, { identity: TEST_IDENTITY })
      await git.raw(['checkout', '-B', 'work', `origin/${from}`])
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(dirname(join(tmp, file)), { recursive: true })
        writeFileSync(join(tmp, file), content)
      }
      await git.raw(['add', '-A'])
      await git.raw(['commit', '-m', message])
      await git.raw(['push', '--force', 'origin', `HEAD:refs/heads/${branch}`])
      return (await git.raw(['rev-parse', 'HEAD'])).trim()
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  }

  cleanup (): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}
