import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { silentLogger } from '../../../node/logger.js'
import { Executor } from '../../../node/agents/executor.js'
import { AgentWorker, type AgentWorkerInit } from '../../../node/agents/worker.js'
import { gitAt } from '../../../node/git/git.js'
import { MergeRunner } from '../../../node/git/merge-runner.js'
import type { GitRepo } from '../../../node/git/repo.js'
import { WorktreeManager } from '../../../node/git/worktrees.js'
import { waitFor } from '../../../scripts/lib/wait.js'
import { FakeCoordinator } from './fake-coordinator.js'
import { GitFixture } from './fixture.js'

const agentA = { id: 'A', name: 'Agent A', role: 'backend', capabilities: [] }

describe('agent worker loop', function () {
  this.timeout(30_000)
  let fx: GitFixture
  let repo: GitRepo
  let coord: FakeCoordinator
  const workers: AgentWorker[] = []
  beforeEach(async () => {
    fx = await GitFixture.create()
    repo = await fx.clone('node1')
    coord = new FakeCoordinator()
  })
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop()
    fx.cleanup()
  })

  function worker (command = 'demo', extra: Partial<AgentWorkerInit> = {}, env: NodeJS.ProcessEnv = process.env): AgentWorker {
    const w = new AgentWorker({
      agent: agentA,
      coordinator: coord,
      worktrees: new WorktreeManager({ repo, root: join(fx.dir, 'worktrees') }),
      executor: new Executor({ command, env, killGraceMs: 500 }),
      logger: silentLogger(),
      heartbeatMs: 50,
      idleMs: 20,
      backoff: { baseMs: 10, maxMs: 50 },
      ...extra
    })
    workers.push(w)
    return w
  }

  it('completes tasks: branch pushed, evidence, merge entry, review; the merged main holds each change once', async () => {
    for (const id of ['T1', 'T2', 'T3']) coord.addTask({ id })
    coord.addTask({ id: 'F1', role: 'frontend' })
    const w = worker()
    w.start()
    await waitFor(() => ['T1', 'T2', 'T3'].every(id => coord.task(id).status === 'review'), 'three backend tasks in review')
    assert.equal(coord.task('F1').status, 'pending', 'another role\'s task is left alone')
    assert.deepEqual(coord.registered.map(a => a.id), ['A'])
    await waitFor(() => coord.heartbeats >= 2, 'heartbeats')

    assert.equal(coord.queue.length, 3)
    for (const q of coord.queue) {
      assert.equal(q.branch, `fleet/${q.taskId}`)
      assert.equal(await fx.remoteRef(`refs/heads/${q.branch}`), q.commit, 'the queued commit is the pushed tip')
      const a = coord.assignments.get(q.assignmentId)
      assert.equal(a?.state, 'completed')
      assert.deepEqual(a?.evidence.map(e => e.kind), ['commit', 'diff-stat', 'log'])
      assert.equal(a?.evidence[0]?.content, q.commit)
      assert.match(a?.evidence[1]?.content ?? '', new RegExp(`work/${q.taskId}\\.md \\| \\d+ \\+`))
      assert.match(a?.evidence[2]?.content ?? '', /exit code 0/)
      assert.equal(a?.progress.at(-1)?.percent, 100)
      assert.match(a?.summary ?? '', /^[0-9a-f]{7} on fleet\/T\d: 1 file changed.*; queued for merge$/)
      const msg = (await gitAt(fx.remote).raw(['log', '-1', '--format=%an|%s', q.commit])).trim()
      assert.equal(msg, `Agent A|${q.taskId}: task ${q.taskId}`)
    }
    assert.equal(existsSync(join(fx.dir, 'worktrees', 'A')), false, 'worktree removed after the task')

    const runner = new MergeRunner({ repo, scratchDir: join(fx.dir, 'merges'), logger: silentLogger() })
    for (const q of coord.queue) {
      const out = await runner.process({ id: q.assignmentId, taskId: q.taskId, branch: q.branch, commit: q.commit })
      assert.equal(out.state, 'merged')
    }
    assert.deepEqual((await fx.mainFiles()).sort(), ['README.md', 'work/T1.md', 'work/T2.md', 'work/T3.md'])
    assert.match(await fx.showMain('work/T2.md') ?? '', /^# T2: task T2\n\n## Description\n\ndo T2\n\n## Acceptance\n\nT2 done\n/)
  })

  it('releases the task in hand on stop, killing the executor; the task is available again', async () => {
    coord.addTask({ id: 'T1' })
    const w = worker('demo', {}, { ...process.env, FLEET_DEMO_DELAY_MS: '20000' })
    w.start()
    const a = await waitFor(() => coord.of('T1').find(x => x.progress.some(p => p.percent === 10)), 'the executor to report progress')
    const t0 = Date.now()
    await w.stop()
    assert.ok(Date.now() - t0 < 5000, `stop took ${Date.now() - t0} ms`)
    assert.equal(a.state, 'released')
    assert.equal(a.reason, 'agent shutting down')
    assert.equal(coord.task('T1').status, 'pending')
    assert.equal(coord.task('T1').failures, 0, 'a release is not a failure')
    assert.equal(coord.queue.length, 0)
    assert.equal(await fx.remoteRef('refs/heads/fleet/T1'), null, 'nothing pushed')
    assert.equal(existsSync(join(fx.dir, 'worktrees', 'A')), false)
    assert.equal(w.phase, 'stopped')
  })

  it('fails the attempt with the stderr tail when the executor fails; the coordinator fails the task after N', async () => {
    coord.addTask({ id: 'T1' })
    const w = worker('echo "working"; echo "error: tests failed" >&2; exit 4')
    w.start()
    await waitFor(() => coord.task('T1').status === 'failed', 'the task to fail after 2 attempts')
    const attempts = coord.of('T1')
    assert.equal(attempts.length, 2)
    for (const a of attempts) {
      assert.equal(a.state, 'failed')
      assert.match(a.reason ?? '', /^executor exit 4 after \d+ ms: error: tests failed$/)
    }
    assert.equal(coord.queue.length, 0)
    await waitFor(() => w.stats.failed === 2, 'the worker to count both failed attempts')
  })

  it('fails an attempt that changed nothing', async () => {
    coord.maxAttempts = 1
    coord.addTask({ id: 'T1' })
    worker('echo "progress 100 nothing to do"').start()
    await waitFor(() => coord.task('T1').status === 'failed', 'the task to fail')
    assert.equal(coord.of('T1')[0]?.reason, 'the executor exited 0 but changed nothing')
  })

  it('shows the previous attempt\'s reason to the executor (FLEET_TASK_REASON)', async () => {
    coord.addTask({ id: 'T1', attempt: 2, reason: 'ejected: merge conflict with main abc1234 in shared.txt' })
    worker().start()
    await waitFor(() => coord.task('T1').status === 'review', 'the task in review')
    const tip = coord.queue[0]?.commit ?? ''
    const text = await gitAt(fx.remote).raw(['show', `${tip}:work/T1.md`])
    assert.match(text, /## Previous attempt\n\nejected: merge conflict with main abc1234 in shared\.txt/)
    assert.match(text, /attempt 2/)
  })

  it('picks again after losing a claim', async () => {
    coord.addTask({ id: 'T1' })
    let n = 0
    coord.confirm = () => (++n === 1 ? 'lost' : 'confirmed')
    const w = worker()
    w.start()
    await waitFor(() => coord.task('T1').status === 'review', 'the task done on the second claim')
    assert.deepEqual(coord.of('T1').map(a => a.state), ['lost', 'completed'])
    assert.equal(w.stats.lost, 1)
  })

  it('releases a claim whose confirmation failed, then tries again', async () => {
    coord.addTask({ id: 'T1' })
    let n = 0
    coord.confirm = () => {
      if (++n === 1) throw new Error('settle rule unavailable')
      return 'confirmed'
    }
    worker().start()
    await waitFor(() => coord.task('T1').status === 'review', 'the task done after a failed confirmation')
    assert.deepEqual(coord.of('T1').map(a => a.state), ['released', 'completed'])
    assert.match(coord.of('T1')[0]?.reason ?? '', /settle rule unavailable/)
  })

  it('drops a task fenced mid-work without pushing or completing', async () => {
    coord.addTask({ id: 'T1' })
    coord.fenceOnProgress = true
    const w = worker('demo', {}, { ...process.env, FLEET_DEMO_DELAY_MS: '20000' })
    w.start()
    await waitFor(() => w.stats.lost === 1, 'the worker to drop the fenced task')
    assert.equal(coord.of('T1')[0]?.state, 'lost')
    assert.equal(coord.queue.length, 0)
    assert.equal(await fx.remoteRef('refs/heads/fleet/T1'), null)
  })

  it('backs off with jitter while every claim is refused, and the event loop stays responsive', async () => {
    // A node whose agent still holds an old assignment refuses every claim ("already holds").
    coord.addTask({ id: 'T1' })
    coord.refuseClaims = true
    let ticks = 0
    let worstLateMs = 0
    let due = Date.now() + 50
    const timer = setInterval(() => {
      ticks++
      worstLateMs = Math.max(worstLateMs, Date.now() - due)
      due = Date.now() + 50
    }, 50)
    const w = worker()
    const t0 = Date.now()
    w.start()
    try {
      await new Promise(resolve => setTimeout(resolve, 2000)) // the window measured, not a settle
    } finally {
      clearInterval(timer)
    }
    const elapsed = Date.now() - t0
    // Default claim backoff 250 ms doubling, each wait at least half: at most 5 tries in 2 s.
    assert.ok(coord.claimAttempts >= 2 && coord.claimAttempts <= 6, `${coord.claimAttempts} claim attempts in ${elapsed} ms (want 2-6)`)
    assert.ok(coord.picks <= coord.claimAttempts + 1, `${coord.picks} picks`)
    assert.ok(ticks >= 20, `a 50 ms timer fired ${ticks} times in ${elapsed} ms`)
    assert.ok(worstLateMs < 250, `the timer fired up to ${worstLateMs} ms late`)
    assert.equal(w.phase, 'backoff')
    assert.equal(w.stats.errors, 0, 'a refusal is not an error')
  })

  it('gives back an assignment it held before a restart at once ("agent restarted"), then works normally', async () => {
    coord.addTask({ id: 'T1' })
    coord.addTask({ id: 'T2' })
    const old = coord.holdFor('A', 'T1')
    const w = worker()
    w.start()
    await waitFor(() => coord.assignments.get(old)?.state === 'released', 'the old assignment to be given back')
    assert.equal(coord.assignments.get(old)?.reason, 'agent restarted')
    assert.equal(coord.task('T1').failures, 0, 'giving back after a restart is not a failure')
    await waitFor(() => ['T1', 'T2'].every(id => coord.task(id).status === 'review'), 'both tasks done afterwards')
    assert.deepEqual(coord.of('T1').map(a => a.state), ['released', 'completed'])
  })

  it('completes, instead of giving back, a held assignment whose branch was already queued for merge', async () => {
    coord.addTask({ id: 'T1' })
    const old = coord.holdFor('A', 'T1')
    await coord.enqueueMerge({ taskId: 'T1', assignmentId: old, branch: 'fleet/T1', commit: 'f'.repeat(40) })
    const w = worker()
    w.start()
    await waitFor(() => coord.assignments.get(old)?.state === 'completed', 'the queued assignment to be completed')
    assert.match(coord.assignments.get(old)?.summary ?? '', /resumed after an agent restart/)
    assert.equal(coord.task('T1').status, 'review')
    assert.equal(coord.of('T1').length, 1, 'no second attempt')
    assert.equal(w.stats.completed, 1)
  })

  it('keeps the lease during a long executor run: progress lines renew it, at most once a second', async () => {
    coord.addTask({ id: 'T1' })
    // Heartbeat timer far away: only progress lines can renew the lease here.
    const w = worker('for i in 1 2 3 4 5 6 7 8 9 10; do echo "progress $((i * 9))"; sleep 0.25; done; echo done > out.txt', { heartbeatMs: 600_000 })
    w.start()
    await waitFor(() => coord.task('T1').status === 'review', 'the task done', 20_000)
    const a = coord.of('T1')[0]?.id
    const beats = coord.beatTimes.filter(b => b.assignmentId === a)
    assert.ok(beats.length >= 2, `${beats.length} lease renewals from 10 progress lines over ~2.5 s`)
    assert.ok(beats.length <= 4, `${beats.length} renewals: throttled, not one per line`)
  })

  it('an idle agent backs off, and a poke makes it look at once', async () => {
    const w = worker('demo', { idleMs: 200, idleMaxMs: 5000 })
    w.start()
    await waitFor(() => coord.picks >= 4, 'a few idle picks', 10_000)
    // Idle waits grow (200, 400, 800, 1600 ms at most): the picks slow down.
    const before = coord.picks
    coord.addTask({ id: 'T1' })
    w.poke()
    await waitFor(() => coord.picks > before, 'a pick right after the poke (the idle wait was 800-1600 ms)', 300)
    await waitFor(() => coord.task('T1').status === 'review', 'the new task done')
  })

  it('backs off on errors, and releases (not fails) a task when git fails, then recovers', async () => {
    coord.pickErrors = 2
    coord.addTask({ id: 'T1' })
    const url = (await repo.git().raw(['remote', 'get-url', 'origin'])).trim()
    await repo.git().raw(['remote', 'set-url', 'origin', join(fx.dir, 'nowhere.git')])
    const w = worker()
    w.start()
    await waitFor(() => coord.of('T1').some(a => a.state === 'released'), 'the task released after a failed fetch')
    assert.equal(coord.task('T1').failures, 0)
    assert.match(coord.of('T1')[0]?.reason ?? '', /create worktree failed/)
    await repo.git().raw(['remote', 'set-url', 'origin', url])
    await waitFor(() => coord.task('T1').status === 'review', 'the task done once the remote is back')
    assert.ok(w.stats.errors >= 3, `errors: ${w.stats.errors}`)
  })
})
