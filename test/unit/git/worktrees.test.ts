import assert from 'node:assert/strict'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InvalidBranchError, branchForTask } from '../../../node/git/branches.js'
import { gitAt } from '../../../node/git/git.js'
import { GitRepo, RepoError } from '../../../node/git/repo.js'
import { WorktreeManager } from '../../../node/git/worktrees.js'
import { GitFixture } from './fixture.js'

describe('git repo and agent worktrees', function () {
  this.timeout(30_000)
  let fx: GitFixture
  let repo: GitRepo
  let wts: WorktreeManager
  beforeEach(async () => {
    fx = await GitFixture.create()
    repo = await fx.clone('node1')
    wts = new WorktreeManager({ repo, root: join(fx.dir, 'data1', 'worktrees') })
  })
  afterEach(() => fx.cleanup())

  it('branches from the latest remote main, even when the clone is behind', async () => {
    await fx.pushBranch('main', { 'newer.txt': 'pushed by another node\n' })
    const latest = await fx.remoteMain()
    const wt = await wts.create('agent-A', 'T1')
    assert.equal(wt.base, latest)
    assert.equal(wt.branch, 'fleet/T1')
    assert.ok(existsSync(join(wt.path, 'newer.txt')), 'worktree holds the newer main')
    assert.equal((await gitAt(wt.path).raw(['symbolic-ref', 'HEAD'])).trim(), 'refs/heads/fleet/T1')
    // The node's own checkout is left alone.
    assert.equal(existsSync(join(repo.path, 'newer.txt')), false)
  })

  it('commits everything, computes the diff stat, pushes the branch and cleans up', async () => {
    const wt = await wts.create('agent-A', 'T2')
    mkdirSync(join(wt.path, 'src'))
    writeFileSync(join(wt.path, 'src', 'a.ts'), 'export const a = 1\n')
    writeFileSync(join(wt.path, 'README.md'), 'changed\n')
    const head = await wts.commitAll(wt, 'T2: do things', { author: { name: 'Agent A', email: 'A@fleet.invalid' } })
    assert.ok(head !== null)
    const stat = await wts.diffStat(wt, head)
    assert.match(stat, /src\/a\.ts\s+\| 1 \+/)
    assert.match(stat, /2 files changed/)
    const mainBefore = await fx.remoteMain()
    const pushed = await wts.push(wt, head)
    assert.deepEqual(pushed, { commit: head, replaced: null })
    assert.equal(await fx.remoteRef('refs/heads/fleet/T2'), head)
    assert.equal(await fx.remoteMain(), mainBefore, 'main untouched')
    const log = (await gitAt(fx.remote).raw(['log', '-1', '--format=%an <%ae>|%s', head])).trim()
    assert.equal(log, 'Agent A <A@fleet.invalid>|T2: do things')

    await wts.remove(wt)
    assert.equal(existsSync(wt.path), false)
    const list = await repo.git().raw(['worktree', 'list', '--porcelain'])
    assert.equal(list.includes(wt.path), false)
    assert.equal(await repo.resolve('refs/heads/fleet/T2'), null, 'local branch removed')
    await wts.remove(wt) // idempotent
  })

  it('reports no change as null, or makes an empty commit when allowed', async () => {
    const wt = await wts.create('agent-A', 'T3')
    assert.equal(await wts.commitAll(wt, 'T3: nothing'), null)
    const head = await wts.commitAll(wt, 'T3: nothing', { allowEmpty: true })
    assert.ok(head !== null && head !== wt.base)
    await wts.remove(wt)
  })

  it('keeps commits the executor made itself', async () => {
    const wt = await wts.create('agent-A', 'T4')
    writeFileSync(join(wt.path, 'x.txt'), 'x\n')
    const g = gitAt(wt.path, { identity: { name: 'Executor', email: 'e@x.invalid' } })
    await g.raw(['add', '-A'])
    await g.raw(['commit', '-q', '-m', 'executor commit'])
    const own = (await g.raw(['rev-parse', 'HEAD'])).trim()
    assert.equal(await wts.commitAll(wt, 'T4'), own, 'nothing left to commit: the executor\'s commit is the tip')
    await wts.remove(wt)
  })

  it('replaces an earlier attempt\'s branch with --force-with-lease, never touching main', async () => {
    const old = await fx.pushBranch('fleet/T5', { 'attempt1.txt': 'first attempt\n' })
    await fx.pushBranch('main', { 'moved.txt': 'main moved\n' })
    const wt = await wts.create('agent-B', 'T5')
    writeFileSync(join(wt.path, 'attempt2.txt'), 'second attempt\n')
    const head = await wts.commitAll(wt, 'T5: redo')
    assert.ok(head !== null)
    const pushed = await wts.push(wt, head)
    assert.equal(pushed.replaced, old)
    assert.equal(await fx.remoteRef('refs/heads/fleet/T5'), head)
    await wts.remove(wt)
  })

  it('replaces a leftover worktree of the same agent (a crash mid-task)', async () => {
    const first = await wts.create('agent-A', 'T6')
    writeFileSync(join(first.path, 'half-done.txt'), 'x\n')
    const second = await wts.create('agent-A', 'T7')
    assert.equal(second.path, first.path)
    assert.equal(existsSync(join(second.path, 'half-done.txt')), false)
    assert.equal((await gitAt(second.path).raw(['symbolic-ref', 'HEAD'])).trim(), 'refs/heads/fleet/T7')
    await wts.remove(second)
  })

  it('gives agents of one clone their own worktrees, concurrently', async () => {
    const made = await Promise.all(['A', 'B', 'C'].map(async (a, i) => await wts.create(a, `T-par-${i}`)))
    assert.equal(new Set(made.map(w => w.path)).size, 3)
    await Promise.all(made.map(async (w) => {
      writeFileSync(join(w.path, `${w.taskId}.txt`), w.taskId)
      const head = await wts.commitAll(w, w.taskId)
      assert.ok(head !== null)
      await wts.push(w, head)
      await wts.remove(w)
    }))
    for (const w of made) assert.notEqual(await fx.remoteRef(`refs/heads/${w.branch}`), null)
  })

  it('refuses task ids that cannot name a branch, creating nothing', async () => {
    for (const bad of ['..', 'a..b', '.hidden', 'x.lock', 'has space', 'a/b', '-x']) {
      assert.throws(() => branchForTask(bad), InvalidBranchError, bad)
      await assert.rejects(wts.create('agent-A', bad), InvalidBranchError)
    }
    assert.equal(existsSync(wts.pathFor('agent-A')), false)
    assert.equal(branchForTask('T1.2_x-y'), 'fleet/T1.2_x-y')
  })

  it('check() says what is wrong with a clone', async () => {
    await repo.check()
    await assert.rejects(new GitRepo({ path: fx.dir }).check(), (err: Error) => err instanceof RepoError && /not a git repository/.test(err.message))
    await assert.rejects(new GitRepo({ path: repo.path, remote: 'upstream' }).check(), /no remote named "upstream"/)
  })

  it('answers ancestry and missing branches', async () => {
    const main = await repo.fetchMain()
    const tip = await fx.pushBranch('fleet/anc', { 'f.txt': 'f' })
    assert.equal(await repo.fetchBranch('fleet/anc'), tip)
    assert.equal(await repo.isAncestor(main, tip), true)
    assert.equal(await repo.isAncestor(tip, main), false)
    assert.equal(await repo.fetchBranch('fleet/none'), null)
    assert.equal(await repo.resolve('refs/heads/nope'), null)
  })
})
