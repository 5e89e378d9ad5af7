import assert from 'node:assert/strict'
import { join } from 'node:path'
import { silentLogger } from '../../../node/logger.js'
import { MergeLeader, type MergeQueueStore } from '../../../node/git/merge-leader.js'
import { MergeRunner } from '../../../node/git/merge-runner.js'
import type { GitRepo } from '../../../node/git/repo.js'
import { waitFor } from '../../../scripts/lib/wait.js'
import { GitFixture } from './fixture.js'
import { MemoryQueue } from './memory-queue.js'

describe('merge leader loop', function () {
  this.timeout(30_000)
  let fx: GitFixture
  let repo: GitRepo
  const leaders: MergeLeader[] = []
  beforeEach(async () => {
    fx = await GitFixture.create({ 'README.md': 'x\n', 'shared.txt': 'base\n' })
    repo = await fx.clone('node1')
  })
  afterEach(async () => {
    for (const l of leaders.splice(0)) await l.stop()
    fx.cleanup()
  })

  function leader (store: MergeQueueStore, isLeader: () => boolean, runner?: Pick<MergeRunner, 'process'>, check?: string): MergeLeader {
    const r = runner ?? new MergeRunner({ repo, scratchDir: join(fx.dir, 'merges'), logger: silentLogger(), ...(check === undefined ? {} : { check }) })
    const l = new MergeLeader({ runner: r, store, isLeader, logger: silentLogger(), pollMs: 20, backoff: { baseMs: 20, maxMs: 100 } })
    leaders.push(l)
    return l
  }

  it('merges nothing until it leads, then the queue by priority and enqueue time', async () => {
    const q = new MemoryQueue('node1')
    const tips: Record<string, string> = {}
    for (const id of ['T1', 'T2', 'T3']) tips[id] = await fx.pushBranch(`fleet/${id}`, { [`work/${id}.md`]: id })
    q.add({ id: 'e1', taskId: 'T1', branch: 'fleet/T1', commit: tips.T1 }, 0, 1)
    q.add({ id: 'e2', taskId: 'T2', branch: 'fleet/T2', commit: tips.T2 }, 5, 2)
    q.add({ id: 'e3', taskId: 'T3', branch: 'fleet/T3', commit: tips.T3 }, 0, 0)
    let leads = false
    let asked = 0
    const l = leader(q, () => { asked++; return leads })
    const before = await fx.remoteMain()
    l.start()
    await waitFor(() => asked >= 5, 'the loop to ask isLeader() a few times')
    assert.equal(await fx.remoteMain(), before, 'a follower merges nothing')
    assert.ok([...q.rows.values()].every(r => r.state === 'queued'))
    leads = true
    await waitFor(() => [...q.rows.values()].every(r => r.state === 'merged'), 'all entries merged')
    const subjects = (await fx.mainSubjects()).filter(s => s.startsWith('Merge'))
    assert.deepEqual(subjects.reverse(), ['Merge fleet/T2: task T2', 'Merge fleet/T3: task T3', 'Merge fleet/T1: task T1'])
    assert.equal(q.row('e1').sha, await fx.remoteMain())
    assert.deepEqual(l.stats, { merged: 3, alreadyMerged: 0, ejected: 0, errors: 0 })
  })

  it('finishes an entry a dead leader left merging, without merging it twice', async () => {
    const tip = await fx.pushBranch('fleet/T1', { 'work/T1.md': 'T1' })
    // The dead leader got as far as pushing main, then died before recording the result.
    const other = await fx.clone('node0')
    const pushed = await new MergeRunner({ repo: other, scratchDir: join(fx.dir, 'merges0'), logger: silentLogger() })
      .process({ id: 'e1', taskId: 'T1', branch: 'fleet/T1', commit: tip })
    assert.equal(pushed.state, 'merged')
    const q = new MemoryQueue('node1')
    q.add({ id: 'e1', taskId: 'T1', branch: 'fleet/T1', commit: tip }, 0, 0, 'merging', 'node0')
    const l = leader(q, () => true)
    l.start()
    await waitFor(() => q.row('e1').state === 'merged', 'the left-over entry to be marked merged')
    assert.equal(q.row('e1').sha, await fx.remoteMain())
    assert.equal(q.row('e1').leader, 'node1')
    assert.equal(l.stats.alreadyMerged, 1)
    assert.equal((await fx.mainSubjects()).filter(s => s === 'Merge fleet/T1: task T1').length, 1)
  })

  it('ejects a conflicting entry with its reason and goes on with the next', async () => {
    const bad = await fx.pushBranch('fleet/T1', { 'shared.txt': 'branch\n' })
    await fx.pushBranch('main', { 'shared.txt': 'main\n' })
    const good = await fx.pushBranch('fleet/T2', { 'work/T2.md': 'T2' })
    const q = new MemoryQueue('node1')
    q.add({ id: 'e1', taskId: 'T1', branch: 'fleet/T1', commit: bad })
    q.add({ id: 'e2', taskId: 'T2', branch: 'fleet/T2', commit: good })
    leader(q, () => true).start()
    await waitFor(() => q.row('e2').state === 'merged', 'the second entry merged')
    assert.equal(q.row('e1').state, 'ejected')
    assert.match(q.row('e1').reason ?? '', /merge conflict .* in shared\.txt/)
  })

  it('retries an entry after a transient error, with backoff', async () => {
    const tip = await fx.pushBranch('fleet/T1', { 'work/T1.md': 'T1' })
    const real = new MergeRunner({ repo, scratchDir: join(fx.dir, 'merges'), logger: silentLogger() })
    let calls = 0
    const flaky: Pick<MergeRunner, 'process'> = {
      process: async (e, s) => {
        if (++calls === 1) throw new Error('remote unreachable')
        return await real.process(e, s)
      }
    }
    const q = new MemoryQueue('node1')
    q.add({ id: 'e1', taskId: 'T1', branch: 'fleet/T1', commit: tip })
    const l = leader(q, () => true, flaky)
    l.start()
    await waitFor(() => q.row('e1').state === 'merged', 'the entry merged after a retry')
    assert.equal(calls, 2)
    assert.equal(l.stats.errors, 1)
  })

  it('stop() mid-check leaves the entry merging for the next leader and pushes nothing', async () => {
    const tip = await fx.pushBranch('fleet/T1', { 'work/T1.md': 'T1' })
    const before = await fx.remoteMain()
    const q = new MemoryQueue('node1')
    q.add({ id: 'e1', taskId: 'T1', branch: 'fleet/T1', commit: tip })
    const l = leader(q, () => true, undefined, 'sleep 20')
    l.start()
    await waitFor(() => l.current === 'e1', 'the leader to start on e1')
    const t0 = Date.now()
    await l.stop()
    assert.ok(Date.now() - t0 < 5000, 'stop is prompt')
    assert.equal(q.row('e1').state, 'merging')
    assert.equal(await fx.remoteMain(), before)
  })
})
